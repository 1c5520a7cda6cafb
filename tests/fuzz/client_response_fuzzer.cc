// Fuzz target: the client's parsing of what a server sends. A real
// sockrpc::Channel connects to a fake server, which answers with the
// input's bytes (the server's preface included, or not) and half-closes;
// the channel makes one kind of call, chosen by the input's first byte:
//
//   0 unary call   1 server stream   2 bidirectional stream
//   3 two async unary calls on one connection
//
// All in the fuzzer's thread, with no thread of the harness's own: the
// channel connects first (WaitForConnected()), the fake server accepts,
// writes the whole answer and half-closes before the call starts, so the
// call finds its "reply" waiting in the socket. (A reply that comes
// before the request is one a real server could send as well.) What the
// client sends stays unread in the socket. Each input has a listener of
// its own, closed once accepted on: a channel that reconnects in the
// middle of an input is refused at once.
//
// Checks, beyond "no crash, no sanitizer report": every call ends (the
// fake server has closed its side, so no call may wait for its deadline),
// with a status whatever the bytes.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "google/protobuf/stubs/logging.h"
#include "interop.sockrpc.pb.h"
#include "tests/fuzz/fuzz_socket.h"
#include "tests/fuzz/fuzzing_asan_options.h"

namespace {

using ::sockrpc::ClientContext;
using ::sockrpc::interop::InteropTest;

// A call may take this long before the harness calls it a hang.
constexpr absl::Duration kCallLimit = absl::Seconds(5);

// The fake server's name and its channel target, made once.
const std::string& ServerName() {
  static const std::string* name =
      new std::string(absl::StrCat("sockrpc-fuzz-client-", getpid()));
  return *name;
}
const std::string& Target() {
  static const std::string* target =
      new std::string(absl::StrCat("unix-abstract:", ServerName()));
  return *target;
}

// A listening socket on the fake server's name.
int Listen() {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t length = sockrpc::fuzz::AbstractAddress(ServerName(), &addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
      listen(fd, 4) != 0) {
    sockrpc::fuzz::Fail("fake server");
  }
  return fd;
}

// Writes as much of `script` as the socket takes without waiting (a
// script longer than the socket buffer is cut there), then half-closes.
void Answer(int fd, const std::string& script) {
  size_t sent = 0;
  while (sent < script.size()) {
    ssize_t put = send(fd, script.data() + sent, script.size() - sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put <= 0) break;
    sent += static_cast<size_t>(put);
  }
  shutdown(fd, SHUT_WR);
}

void Bound(ClientContext* context) { context->set_timeout(kCallLimit); }

void RunCall(uint8_t kind, InteropTest::Stub& stub) {
  switch (kind % 4) {
    case 0: {
      ClientContext context;
      Bound(&context);
      sockrpc::interop::UnaryRequest request;
      request.set_body("ping");
      (void)stub.UnaryCall(&context, request);
      break;
    }
    case 1: {
      ClientContext context;
      Bound(&context);
      sockrpc::interop::DownloadRequest request;
      request.add_reply_sizes(10);
      auto reader = stub.StreamingOutputCall(&context, request);
      sockrpc::interop::StreamChunk chunk;
      while (reader.Read(&chunk)) {
      }
      (void)reader.Finish();
      break;
    }
    case 2: {
      ClientContext context;
      Bound(&context);
      auto stream = stub.FullDuplexCall(&context);
      sockrpc::interop::DuplexRequest request;
      request.set_reply_size(10);
      (void)stream.Write(request);
      (void)stream.Write(request);
      (void)stream.WritesDone();
      sockrpc::interop::StreamChunk chunk;
      while (stream.Read(&chunk)) {
      }
      (void)stream.Finish();
      break;
    }
    default: {
      ClientContext first_context;
      ClientContext second_context;
      Bound(&first_context);
      Bound(&second_context);
      auto first =
          stub.AsyncEmptyCall(&first_context, sockrpc::interop::Nothing());
      auto second =
          stub.AsyncEmptyCall(&second_context, sockrpc::interop::Nothing());
      (void)first.Get();
      (void)second.Get();
      break;
    }
  }
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 as it refuses it;
// inputs are full of them.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string script(reinterpret_cast<const char*>(data + 1), size - 1);
  int listen_fd = Listen();
  // A small frame limit, as the server target has: the client makes
  // room for a frame when its header arrives, so with the default limit
  // most of the time went to zero-filling room for lengths the fuzzer made
  // up, and the oversized-frame path was seldom reached.
  sockrpc::ChannelOptions options;
  options.max_frame_size = 64 * 1024;
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(Target(), options);
  if (!channel.ok() ||
      !(*channel)->WaitForConnected(absl::Now() + kCallLimit).ok()) {
    sockrpc::fuzz::Fail("connect");
  }
  int server_fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (server_fd < 0) sockrpc::fuzz::Fail("accept4");
  close(listen_fd);
  Answer(server_fd, script);
  const absl::Time start = absl::Now();
  {
    InteropTest::Stub stub(*channel);
    RunCall(data[0], stub);
  }
  if (absl::Now() - start >= kCallLimit) {
    std::fprintf(stderr,
                 "a call waited for its deadline although the "
                 "server had closed the connection\n");
    std::abort();
  }
  channel->reset();  // the client hangs up before the server does
  close(server_fd);
  return 0;
}
