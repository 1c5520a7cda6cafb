// Fuzz target: a whole server connection, in process, in the fuzzer's
// thread, without a socket. One real server runtime (serving the interop
// test service's callback form and reflection, with small limits so that
// every limit path is reachable) is started without threads
// (ServerRuntime::StartInline()). Each input is the client's bytes
// (preface included) on a new connection whose stream is a MemoryClient
// (memory_client.h): the harness adopts it into the runtime
// (AdoptInline()) and delivers the events epoll would report
// (DeliverInline()), round after round, running the runtime's timers and
// posted reactions (PollInline()) between them, until the server has
// nothing left to do; then the client half-closes and the server must
// close the connection. How reads are cut and how fast the client reads
// its replies depends on the input's length (Shape).
//
// The callback form, because no handler of it waits for the peer: with no
// thread but the fuzzer's, a blocking handler waiting in Read() would wait
// for ever. (The blocking API's handlers, the accept path and real
// sockets are fuzzed by server_blocking.)
//
// Checks, beyond "no crash, no sanitizer report, no leak": the server
// closes every connection once its client has hung up (no hang), whatever
// came before; and what it wrote is its preface followed by well-formed
// frames of known types (cut short only where it gave up on a client that
// did not read).
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "server/server_runtime.h"
#include "tests/fuzz/fuzzing_asan_options.h"
#include "tests/fuzz/memory_client.h"
#include "tests/interop/interop_callback_service.h"
#include "tests/interop/interop_service_helpers.h"
#include "transport/frame.h"

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
// Rounds between runs of the runtime's timers and posted reactions while
// the client still sends (each run is an epoll_wait).
constexpr int kRoundsPerPoll = 16;

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

// Runs the runtime's timers and posted reactions that are due.
void RunDueEvents() {
  while (server->runtime->PollInline(absl::ZeroDuration()) > 0) {
  }
}

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  std::abort();
}

// What the server wrote must be its preface and then whole frames with
// valid headers of known types; the last one may be cut short only if the
// server gave up on a client that let output wait.
void CheckReplies(const sockrpc::fuzz::MemoryClient& client) {
  absl::string_view out = client.replies();
  if (out.empty()) return;
  char preface[sockrpc::kPrefaceSize];
  sockrpc::EncodePreface(preface);
  if (out.size() < sizeof(preface) ||
      std::memcmp(out.data(), preface, sizeof(preface)) != 0) {
    Fail("the server's output does not start with its preface");
  }
  out.remove_prefix(sizeof(preface));
  while (out.size() >= sockrpc::kFrameHeaderSize) {
    absl::StatusOr<sockrpc::FrameHeader> header =
        sockrpc::DecodeFrameHeader(out.data());
    if (!header.ok() || !sockrpc::IsKnownFrameType(header->type)) {
      Fail(absl::StrCat(
          "the server wrote a malformed frame header: ",
          header.ok() ? "unknown type" : header.status().message()));
    }
    if (out.size() < sockrpc::kFrameHeaderSize + header->length) break;
    out.remove_prefix(sockrpc::kFrameHeaderSize + header->length);
  }
  if (!out.empty() && !(client.shut_down() && client.write_blocked())) {
    Fail("the server's output ends in the middle of a frame");
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
  if (server == nullptr) StartServer();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  sockrpc::fuzz::MemoryClient client(input, sockrpc::fuzz::ShapeOf(size));
  const uint64_t tag =
      server->runtime->AdoptInline(client.ServerEnd(), "fuzz client");
  // Round after round: the client reads the replies it is ready for, and
  // the server gets the events a socket would give. The server reads some
  // input each round (or, once it has read all, has replies to write), so
  // the rounds are bounded by the input and what the replies may add.
  const uint64_t round_limit = 64 * uint64_t{size} + 100000;
  for (uint64_t round = 0;; ++round) {
    if (round == round_limit) Fail("the server never stopped");
    const uint64_t before = client.progress();
    uint32_t events = EPOLLIN;
    if (client.ReadReplies()) events |= EPOLLOUT;
    if (client.half_closed()) events |= EPOLLRDHUP;
    if (!server->runtime->DeliverInline(tag, events)) break;  // closed
    if (client.input_sent() || round % kRoundsPerPoll == 0) RunDueEvents();
    if (client.progress() != before || !client.input_sent()) continue;
    // The server has nothing left to do: the client leaves, and the
    // server must close the connection at the next read.
    if (client.half_closed()) {
      Fail("the server kept the connection open after its client hung up");
    }
    client.HalfClose();
  }
  RunDueEvents();  // the reactions of the calls the close cancelled
  CheckReplies(client);
  return 0;
}
