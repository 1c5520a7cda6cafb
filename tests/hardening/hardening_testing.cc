#include "tests/hardening/hardening_testing.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "increment.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace testing {
namespace {

// Raw frames may be built larger than any server accepts, on purpose.
constexpr uint32_t kRawFrameLimit = 64u << 20;

}  // namespace

absl::StatusOr<StartedServer> StartServerBinary(
    absl::string_view name, absl::string_view listen_address,
    const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--listen", std::string(listen_address)};
  args.insert(args.end(), flags.begin(), flags.end());
  return StartServerProcess(name, args);
}

absl::StatusOr<StartedServer> StartServerWithFdLimit(
    int fd_limit, absl::string_view name, absl::string_view listen_address,
    const std::vector<std::string>& flags) {
  // sh sets the limit and then becomes the server (exec), so the pid the
  // test sees is the server's.
  std::vector<std::string> args = {
      "-c", absl::StrCat("ulimit -n ", fd_limit, " && exec \"$0\" \"$@\""),
      BinaryPath(name), "--listen", std::string(listen_address)};
  for (std::string& flag : ServerFlags(name, flags)) {
    args.push_back(std::move(flag));
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start("/bin/sh", args);
  if (!process.ok()) return process.status();
  return AwaitServing(*std::move(process));
}

std::string Preface() {
  std::string out;
  AppendPreface(&out);
  return out;
}

std::string HeadersFrameWithMetadata(uint32_t stream_id,
                                     absl::string_view method,
                                     absl::string_view key,
                                     absl::string_view value) {
  wire::CallHeader header;
  header.set_method(std::string(method));
  if (!key.empty()) {
    wire::MetadataEntry* entry = header.add_metadata();
    entry->set_key(std::string(key));
    entry->set_value(std::string(value));
  }
  return HeadersFrame(stream_id, header);
}

std::string RequestFrame(uint32_t stream_id,
                         const google::protobuf::MessageLite& message) {
  std::string out;
  (void)AppendMessageFrame(&out, FrameType::kMessage, kFlagEndStream,
                           stream_id, message, kRawFrameLimit);
  return out;
}

absl::Status ReadStreamOutcome(RawConnection* connection, uint32_t stream_id,
                               absl::Duration timeout,
                               size_t* message_bytes) {
  const absl::Time deadline = absl::Now() + timeout;
  *message_bytes = 0;
  for (;;) {
    absl::StatusOr<ReceivedFrame> frame =
        connection->ReadFrame(deadline - absl::Now());
    if (!frame.ok()) return frame.status();
    if (frame->header.stream_id != stream_id) continue;
    if (frame->header.type == static_cast<uint8_t>(FrameType::kMessage)) {
      *message_bytes += frame->payload.size();
    } else if (frame->header.type ==
               static_cast<uint8_t>(FrameType::kStatus)) {
      wire::CallStatus status;
      if (!status.ParseFromString(frame->payload)) {
        return absl::DataLossError("STATUS does not parse");
      }
      return StatusFromWire(status.code(), status.message());
    }
  }
}

absl::StatusOr<int> OpenSockets(pid_t pid) {
  const std::string dir_path = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat("opendir ", dir_path, ": errno ",
                                            errno));
  }
  int sockets = 0;
  while (dirent* entry = readdir(dir)) {
    char target[256];
    const std::string link = absl::StrCat(dir_path, "/", entry->d_name);
    ssize_t length = readlink(link.c_str(), target, sizeof(target) - 1);
    if (length <= 0) continue;
    if (absl::string_view(target, length).substr(0, 7) == "socket:") {
      ++sockets;
    }
  }
  closedir(dir);
  return sockets;
}

absl::Status WaitForOpenSockets(pid_t pid, int count,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int last = -1;
  for (;;) {
    absl::StatusOr<int> sockets = OpenSockets(pid);
    if (!sockets.ok()) return sockets.status();
    last = *sockets;
    if (last == count) return absl::OkStatus();
    if (absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(10));  // polling /proc: no event to wait on
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "process ", pid, " holds ", last, " sockets, expected ", count));
}

absl::StatusOr<ClientRun> RunHardeningClient(
    const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath("hardening_client"), args);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> status = (*process)->WaitForExit(kProcessTimeout);
  if (!status.ok()) return status.status();
  absl::Status ended = (*process)->WaitForOutputEnd(kProcessTimeout);
  if (!ended.ok()) return ended;
  ClientRun run;
  run.wait_status = *status;
  run.stdout_text = (*process)->StdoutText();
  run.stderr_text = (*process)->StderrText();
  return run;
}

absl::Status IncrementOnce(absl::string_view address) {
  absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannel(address);
  if (!channel.ok()) return channel.status();
  increment::Increment::Stub stub(*channel);
  ClientContext context;
  context.set_timeout(kIoTimeout);
  increment::IncrementRequest request;
  request.set_character("A");
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&context, request);
  if (!reply.ok()) return reply.status();
  if (reply->character() != "B") {
    return absl::InternalError(
        absl::StrCat("reply \"", reply->character(), "\", expected \"B\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<SilentPort> OpenSilentPort(SilentPort::Kind kind) {
  SilentPort port;
  port.listener = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  const int backlog = kind == SilentPort::kDropsConnections ? 0 : 64;
  if (!port.listener.valid() ||
      ::bind(port.listener.get(), generic, sizeof(address)) != 0 ||
      ::listen(port.listener.get(), backlog) != 0 ||
      ::getsockname(port.listener.get(), generic, &length) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot listen on a loopback port: ", errno));
  }
  port.port = ntohs(address.sin_port);
  if (kind == SilentPort::kDropsConnections) {
    port.queued = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!port.queued.valid() ||
        ::connect(port.queued.get(), generic, sizeof(address)) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot fill the accept queue: ", errno));
    }
  }
  return port;
}

int ThreadsNamed(absl::string_view name) {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  int count = 0;
  while (const dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    FILE* file = std::fopen(
        absl::StrCat("/proc/self/task/", task->d_name, "/comm").c_str(), "r");
    if (file == nullptr) continue;  // the thread has ended
    char line[32] = {};
    if (std::fgets(line, sizeof(line), file) != nullptr &&
        absl::StripSuffix(line, "\n") == name) {
      ++count;
    }
    std::fclose(file);
  }
  ::closedir(tasks);
  return count;
}

}  // namespace testing
}  // namespace sockrpc
