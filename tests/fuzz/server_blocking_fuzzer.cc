// Fuzz target: a whole server connection under the blocking API, with the
// server's own threads. One real sockrpc::Server (serving the interop test
// service's blocking form and reflection, with small limits so that every
// limit path is reachable) listens on an abstract unix socket; each input
// is sent on a new connection as the client's bytes (preface included),
// then the harness half-closes and waits for the server to close its end.
//
// server_connection_fuzzer.cc drives the same connection code in the
// fuzzer's thread, several times faster; this one keeps what only threads
// reach: blocking handlers waiting in Read() for bytes a leader reads,
// handler slots, the watchdog taking the lead. Its code under test frees
// on the server's threads, after the input has returned, so libFuzzer's
// per-input leak check would see more mallocs than frees after nearly
// every input and scan the heap each time: build.sh runs it with
// -detect_leaks=0, and the leak check at exit still fails the run on any
// leak (without naming the input).
//
// The server accepts file descriptors (max_fds_per_message), and the
// harness passes some as a client would: every write that begins at an
// FDS frame of the input (found by walking the frames' headers) carries
// as many descriptors of /dev/null as the frame's count says, when it says
// one of 1 to 8 plainly, else one. So the descriptor paths (a batch taken
// by its FDS frame, counts that differ, descriptors no field names, the
// per-connection limit) see real SCM_RIGHTS, and the leak check at exit
// catches a descriptor's memory kept.
//
// Checks, beyond "no crash, no sanitizer report": the server closes every
// connection promptly once its client has hung up (no hang), whatever came
// before.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "server/server.h"
#include "tests/fuzz/fuzz_socket.h"
#include "tests/fuzz/fuzzing_asan_options.h"
#include "tests/interop/interop_service.h"
#include "transport/frame.h"

namespace {

using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::SleepRequest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;

// Bounds what one request may make a handler allocate or wait.
constexpr uint32_t kMaxReplySize = 4096;
constexpr int kMaxReplies = 16;

// The interop service with its knobs clamped, so that an input cannot ask
// a handler for gigabytes or minutes (a property of the test service, not
// of the runtime under test).
class ClampedService final : public sockrpc::interop::InteropService {
 public:
  absl::Status UnaryCall(sockrpc::ServerContext* context,
                         const UnaryRequest& request,
                         UnaryReply* reply) override {
    UnaryRequest clamped = request;
    clamped.set_reply_size(std::min(request.reply_size(), kMaxReplySize));
    return InteropService::UnaryCall(context, clamped, reply);
  }
  absl::Status SleepCall(sockrpc::ServerContext* context,
                         const SleepRequest& request,
                         sockrpc::interop::Nothing* reply) override {
    SleepRequest clamped;
    clamped.set_sleep_ms(std::min(request.sleep_ms(), 1u));
    return InteropService::SleepCall(context, clamped, reply);
  }
  absl::Status StreamingOutputCall(
      sockrpc::ServerContext* context, const DownloadRequest& request,
      sockrpc::ServerWriter<StreamChunk>* writer) override {
    DownloadRequest clamped = request;
    clamped.clear_reply_sizes();
    for (int i = 0; i < std::min(request.reply_sizes_size(), kMaxReplies);
         ++i) {
      clamped.add_reply_sizes(std::min(request.reply_sizes(i), kMaxReplySize));
    }
    clamped.set_pause_us(std::min(request.pause_us(), 50u));
    return InteropService::StreamingOutputCall(context, clamped, writer);
  }
  absl::Status FullDuplexCall(
      sockrpc::ServerContext* context,
      sockrpc::ServerReaderWriter<StreamChunk, DuplexRequest>* stream)
      override {
    return Echo(context, stream);
  }
  absl::Status HalfDuplexCall(
      sockrpc::ServerContext* context,
      sockrpc::ServerReaderWriter<StreamChunk, DuplexRequest>* stream)
      override {
    return Echo(context, stream);
  }

 private:
  static absl::Status Echo(
      sockrpc::ServerContext* context,
      sockrpc::ServerReaderWriter<StreamChunk, DuplexRequest>* stream) {
    DuplexRequest request;
    for (uint32_t index = 0; stream->Read(&request); ++index) {
      if (request.echo_status().code() != 0) {
        return absl::Status(
            static_cast<absl::StatusCode>(request.echo_status().code() % 17),
            request.echo_status().message());
      }
      StreamChunk chunk;
      chunk.set_index(index);
      chunk.set_body(
          std::string(std::min(request.reply_size(), kMaxReplySize), 'r'));
      if (!stream->Write(chunk)) break;
    }
    return context->IsCancelled() ? absl::CancelledError("gone")
                                  : absl::OkStatus();
  }
};

// The server, started once and kept for the life of the process (reachable
// from here, so the leak checker does not count it).
std::string* server_name = nullptr;
sockrpc::Server* server = nullptr;

void StartServer() {
  static ClampedService* service = new ClampedService;
  sockrpc::ServerOptions options;
  options.max_frame_size = 64 * 1024;
  options.max_metadata_size = 1024;
  options.max_calls_per_connection = 8;
  options.max_write_buffer = 256 * 1024;
  options.max_threads = 16;
  options.handshake_timeout = absl::Seconds(5);
  options.max_fds_per_message = 4;
  options.max_fds_per_connection = 8;
  options.log = [](absl::string_view) {};  // keep the fuzzer's output clean
  server = new sockrpc::Server(options);
  server_name = new std::string(absl::StrCat("sockrpc-fuzz-server-", getpid()));
  if (!server->RegisterService(service).ok() ||
      !server->Listen(absl::StrCat("unix-abstract:", *server_name)).ok() ||
      !server->Start().ok()) {
    std::abort();
  }
}

// The FDS frames of `bytes` (a client's side: preface, then frames), with
// the count each announces when it is plain (payload 08 NN, NN 1 to 8),
// else 1.
std::vector<sockrpc::fuzz::FdsAt> FdsFrames(const std::string& bytes) {
  std::vector<sockrpc::fuzz::FdsAt> found;
  size_t at = sockrpc::kPrefaceSize;
  while (at + sockrpc::kFrameHeaderSize <= bytes.size()) {
    const auto* header = reinterpret_cast<const uint8_t*>(bytes.data() + at);
    const uint32_t length = (uint32_t{header[0]} << 24) |
                            (uint32_t{header[1]} << 16) |
                            (uint32_t{header[2]} << 8) | header[3];
    if (header[8] == static_cast<uint8_t>(sockrpc::FrameType::kFds)) {
      int count = 1;
      const size_t payload = at + sockrpc::kFrameHeaderSize;
      if (length == 2 && payload + 2 <= bytes.size() &&
          bytes[payload] == 0x08 && bytes[payload + 1] >= 1 &&
          bytes[payload + 1] <= 8) {
        count = bytes[payload + 1];
      }
      found.push_back({at, count});
    }
    if (length > bytes.size()) break;  // the rest is one frame's payload
    at += sockrpc::kFrameHeaderSize + length;
  }
  return found;
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 as it refuses it;
// inputs are full of them.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (server_name == nullptr) StartServer();
  int fd = sockrpc::fuzz::ConnectAbstract(*server_name);
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!sockrpc::fuzz::ExchangeAndDrain(fd, bytes, /*timeout_ms=*/10000,
                                       FdsFrames(bytes))) {
    std::fprintf(stderr,
                 "the server kept the connection open for 10 s "
                 "after its client hung up\n");
    std::abort();
  }
  close(fd);
  return 0;
}
