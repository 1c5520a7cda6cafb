// Fuzz target: a whole server connection, in process and in the fuzzer's
// thread. One real server runtime (serving the interop test service's
// callback form and reflection, with small limits so that every limit path
// is reachable) listens on an abstract unix socket; it is started without
// threads (ServerRuntime::StartInline()) and the harness runs its event
// loop (PollInline()) between its own steps. Each input is sent on a new
// connection as the client's bytes (preface included); the server handles
// them until it has nothing left to do; then the harness half-closes and
// runs the server until it has closed its end. What the server writes is
// read and dropped as it comes.
//
// The callback form, because no handler of it waits for the peer: with no
// thread but the fuzzer's, a blocking handler waiting in Read() would wait
// for ever. (The blocking API's handlers are driven by the same
// connection code; their own part is covered by the runtime tests.)
//
// Checks, beyond "no crash, no sanitizer report": the server closes every
// connection once its client has hung up (no hang), whatever came before.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "server/server_runtime.h"
#include "tests/fuzz/fuzz_socket.h"
#include "tests/interop/interop_callback_service.h"
#include "tests/interop/interop_service_helpers.h"

namespace {

using ::sockrpc::CallbackServerContext;
using ::sockrpc::ServerBidiReactor;
using ::sockrpc::ServerUnaryReactor;
using ::sockrpc::ServerWriteReactor;
using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::SleepRequest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;

// Bounds what one request may make a handler allocate.
constexpr uint32_t kMaxReplySize = 4096;
constexpr int kMaxReplies = 16;
// How long the server may take to close a connection its client left.
constexpr absl::Duration kCloseLimit = absl::Seconds(10);

// SleepCall: waits for the end of the call (a cancel, the deadline, the
// client leaving) and no timer, so nothing runs on another thread; a
// request for no sleep ends at once.
class Sleeper final : public ServerUnaryReactor {
 public:
  explicit Sleeper(CallbackServerContext* context) : context_(context) {}
  void OnCancel() override { Finish(sockrpc::interop::ClientGone(*context_)); }
  void OnDone() override { delete this; }

 private:
  CallbackServerContext* const context_;
};

// StreamingOutputCall: the requested replies (clamped), each written once
// the one before is done, then the requested status.
class Downloader final : public ServerWriteReactor<StreamChunk> {
 public:
  Downloader(CallbackServerContext* context, const DownloadRequest& request)
      : status_(sockrpc::interop::RequestedStatus(request.echo_status())) {
    sockrpc::interop::EchoMetadata(context);
    for (int i = 0; i < std::min(request.reply_sizes_size(), kMaxReplies);
         ++i) {
      sizes_[count_++] = std::min(request.reply_sizes(i), kMaxReplySize);
    }
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return End(absl::CancelledError("write failed"));
    Next();
  }
  void OnCancel() override { End(absl::CancelledError("cancelled")); }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ == count_) return End(status_);
    chunk_ = sockrpc::interop::MakeChunk(next_, sizes_[next_]);
    ++next_;
    StartWrite(&chunk_);
  }
  void End(absl::Status status) {
    if (ended_) return;
    ended_ = true;
    Finish(std::move(status));
  }

  const absl::Status status_;
  uint32_t sizes_[kMaxReplies] = {};
  int count_ = 0;
  int next_ = 0;
  StreamChunk chunk_;  // the write in flight
  bool ended_ = false;
};

// FullDuplexCall and HalfDuplexCall: one reply (clamped) per request, or
// the status a request asks for; OK at the client's half-close.
class Echo final : public ServerBidiReactor<DuplexRequest, StreamChunk> {
 public:
  explicit Echo(CallbackServerContext* context) {
    sockrpc::interop::EchoMetadata(context);
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return End(absl::OkStatus());
    if (request_.echo_status().code() != 0) {
      return End(sockrpc::interop::RequestedStatus(request_.echo_status()));
    }
    chunk_ = sockrpc::interop::MakeChunk(
        index_++, std::min(request_.reply_size(), kMaxReplySize));
    StartWrite(&chunk_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return End(absl::CancelledError("write failed"));
    StartRead(&request_);
  }
  void OnCancel() override { End(absl::CancelledError("cancelled")); }
  void OnDone() override { delete this; }

 private:
  void End(absl::Status status) {
    if (ended_) return;
    ended_ = true;
    Finish(std::move(status));
  }

  DuplexRequest request_;  // the read in flight
  StreamChunk chunk_;      // the write in flight
  uint32_t index_ = 0;
  bool ended_ = false;
};

// The interop service's callback form with its knobs clamped and its
// waits taken out, so that an input can neither ask a handler for
// gigabytes nor make work for another thread (properties of the test
// service, not of the runtime under test).
class ClampedService final : public sockrpc::interop::InteropCallbackService {
 public:
  ServerUnaryReactor* UnaryCall(CallbackServerContext* context,
                                const UnaryRequest* request,
                                UnaryReply* reply) override {
    UnaryRequest clamped = *request;  // read before UnaryCall() returns
    clamped.set_reply_size(std::min(request->reply_size(), kMaxReplySize));
    return InteropCallbackService::UnaryCall(context, &clamped, reply);
  }
  ServerUnaryReactor* SleepCall(CallbackServerContext* context,
                                const SleepRequest* request,
                                Nothing* reply) override {
    if (request->sleep_ms() == 0) {
      ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(absl::OkStatus());
      return reactor;
    }
    return new Sleeper(context);
  }
  ServerWriteReactor<StreamChunk>* StreamingOutputCall(
      CallbackServerContext* context, const DownloadRequest* request) override {
    return new Downloader(context, *request);
  }
  ServerBidiReactor<DuplexRequest, StreamChunk>* FullDuplexCall(
      CallbackServerContext* context) override {
    return new Echo(context);
  }
  ServerBidiReactor<DuplexRequest, StreamChunk>* HalfDuplexCall(
      CallbackServerContext* context) override {
    return new Echo(context);
  }
};

// The server, started once and kept for the life of the process (reachable
// from here, so the leak checker does not count it).
struct FuzzServer {
  std::string name;
  ClampedService service;
  sockrpc::ServerRuntime* runtime = nullptr;
};
FuzzServer* server = nullptr;

void StartServer() {
  server = new FuzzServer;
  server->name = absl::StrCat("sockrpc-fuzz-server-", getpid());
  sockrpc::ServerOptions options;
  options.max_frame_size = 64 * 1024;
  options.max_metadata_size = 1024;
  options.max_calls_per_connection = 8;
  options.max_write_buffer = 256 * 1024;
  options.handshake_timeout = absl::Seconds(5);
  options.log = [](absl::string_view) {};  // keep the fuzzer's output clean
  server->runtime = new sockrpc::ServerRuntime(options);
  if (!server->runtime->RegisterService(&server->service).ok() ||
      !server->runtime->Listen(absl::StrCat("unix-abstract:", server->name))
           .ok() ||
      !server->runtime->StartInline().ok()) {
    std::abort();
  }
}

// Reads and drops what the server sent; false once it has closed (or
// reset) the connection.
bool DrainReplies(int fd) {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (got > 0) continue;
    if (got == 0) return false;
    if (errno == EAGAIN || errno == EINTR) return true;
    return false;  // reset
  }
}

// Runs the server until it has nothing left to do now, reading its
// replies meanwhile; false if it closed the connection.
bool RunServerUntilIdle(int fd) {
  bool open = true;
  do {
    open = DrainReplies(fd);
  } while (server->runtime->PollInline(absl::ZeroDuration()) > 0);
  return open && DrainReplies(fd);
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 as it refuses it;
// inputs are full of them.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (server == nullptr) StartServer();
  int fd = sockrpc::fuzz::ConnectAbstract(server->name);
  const char* bytes = reinterpret_cast<const char*>(data);
  size_t sent = 0;
  bool open = true;
  // The input, as fast as the server takes it.
  while (open && sent < size) {
    ssize_t put =
        send(fd, bytes + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) {
      sent += static_cast<size_t>(put);
    } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
      break;  // the server closed first
    }
    open = RunServerUntilIdle(fd);
  }
  // Then the client leaves, and the server must close its end.
  shutdown(fd, SHUT_WR);
  const absl::Time limit = absl::Now() + kCloseLimit;
  while (open && RunServerUntilIdle(fd)) {
    if (absl::Now() > limit) {
      std::fprintf(stderr,
                   "the server kept the connection open for 10 s "
                   "after its client hung up\n");
      std::abort();
    }
    server->runtime->PollInline(absl::Milliseconds(10));
  }
  close(fd);
  return 0;
}
