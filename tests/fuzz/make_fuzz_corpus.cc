// make_fuzz_corpus: captures the seed corpora of the fuzz targets from real
// traffic. It runs a real Server (the interop service, reflection on) and
// real Channels in one process, with a relay between them that records
// every byte each way, for a set of scenarios covering every kind of call,
// metadata, deadlines, errors, cancellation, flow control and reflection.
//
//   build/tests/make_fuzz_corpus tests/fuzz/corpus
//
// writes, for each scenario NAME:
//   server_connection/NAME   the client's bytes (what a server reads)
//   client_response/NAME     a call-kind byte + the server's bytes
//   frame_decoder/NAME.c2s, NAME.s2c  the frames of each direction
//   preface/NAME             the first bytes of the client's side
//   decode/NAME.raw, NAME.pcapng  both sides, raw and as a tap capture
//                            (when tools/cli's decoding library is built)
// The files are small and committed; rerun this after a protocol change.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "tests/fuzz/fuzz_socket.h"
#include "tests/interop/interop_common.h"
#include "tests/interop/interop_service.h"
#ifdef SOCKRPC_HAVE_CLI_INSPECT
#include "tools/cli/pcapng_writer.h"
#endif

namespace {

using ::sockrpc::ClientContext;
using ::sockrpc::interop::InteropTest;

// The call kinds of client_response_fuzzer.cc (its first input byte).
enum Kind : char { kUnary = 0, kServerStream = 1, kBidi = 2, kTwoUnary = 3 };

struct Capture {
  std::string client_bytes;
  std::string server_bytes;
};

// Relays one connection accepted on `listen_fd` to abstract socket
// `server_name`, recording both directions, until both sides close.
Capture Relay(int listen_fd, const std::string& server_name) {
  Capture capture;
  int client = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) sockrpc::fuzz::Fail("accept");
  int server = sockrpc::fuzz::ConnectAbstract(server_name);
  bool client_open = true;
  bool server_open = true;
  char buffer[64 * 1024];
  while (client_open || server_open) {
    pollfd fds[2] = {{client, static_cast<short>(client_open ? POLLIN : 0), 0},
                     {server, static_cast<short>(server_open ? POLLIN : 0), 0}};
    if (poll(fds, 2, 10000) <= 0) break;
    for (int side = 0; side < 2; ++side) {
      if (!(fds[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int from = side == 0 ? client : server;
      const int to = side == 0 ? server : client;
      ssize_t got = recv(from, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        shutdown(to, SHUT_WR);
        (side == 0 ? client_open : server_open) = false;
        continue;
      }
      (side == 0 ? capture.client_bytes : capture.server_bytes)
          .append(buffer, static_cast<size_t>(got));
      for (ssize_t sent = 0; sent < got;) {
        ssize_t put = send(to, buffer + sent, got - sent, MSG_NOSIGNAL);
        if (put <= 0) break;
        sent += put;
      }
    }
  }
  close(client);
  close(server);
  return capture;
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// The decode target's seeds: the connection as raw bytes (mode 1, split
// where the client's bytes end) and as a pcapng capture (mode 0).
void WriteDecodeSeeds(const std::filesystem::path& dir, const std::string& name,
                      const Capture& capture) {
#ifdef SOCKRPC_HAVE_CLI_INSPECT
  const std::string both = capture.client_bytes + capture.server_bytes;
  const int split = static_cast<int>(
      (capture.client_bytes.size() * 256 + both.size() - 1) / both.size());
  WriteFile(dir / (name + ".raw"),
            std::string(1, '\x01') + static_cast<char>(std::min(split, 255)) +
                both);
  const std::filesystem::path scratch = dir / (name + ".tmp");
  {
    using sockrpc::cli::Direction;
    auto writer = sockrpc::cli::PcapngWriter::Create(scratch.string(), "sockrpc fuzz seed");
    if (!writer.ok()) return;
    const absl::Time time = absl::FromUnixSeconds(1700000000);
    (void)(*writer)->Open(1, time, "corpus");
    (void)(*writer)->Data(1, Direction::kClientToServer, time,
                          capture.client_bytes);
    (void)(*writer)->Data(1, Direction::kServerToClient, time,
                          capture.server_bytes);
    (void)(*writer)->End(1, Direction::kClientToServer, time, "");
    (void)(*writer)->End(1, Direction::kServerToClient, time, "");
  }
  std::ifstream in(scratch, std::ios::binary);
  std::string pcapng((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
  WriteFile(dir / (name + ".pcapng"), std::string(1, '\x00') + pcapng);
  std::filesystem::remove(scratch);
#endif
}

void Bound(ClientContext* context) { context->set_timeout(absl::Seconds(5)); }

struct Scenario {
  const char* name;
  Kind kind;
  std::function<void(InteropTest::Stub&)> run;
};

std::vector<Scenario> Scenarios() {
  using namespace sockrpc::interop;  // the test messages
  return {
      {"empty_call", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         (void)stub.EmptyCall(&context, Nothing());
       }},
      {"unary_metadata_deadline", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         Bound(&context);
         context.AddMetadata(kEchoInitialKey, "initial");
         context.AddMetadata(kEchoTrailingKey, std::string("\x00\xff", 2));
         UnaryRequest request;
         request.set_body("hello");
         request.set_reply_size(100);
         (void)stub.UnaryCall(&context, request);
       }},
      {"unary_error_status", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         UnaryRequest request;
         request.mutable_echo_status()->set_code(3);
         request.mutable_echo_status()->set_message("bad request");
         (void)stub.UnaryCall(&context, request);
       }},
      {"unimplemented", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         (void)stub.UnimplementedCall(&context, Nothing());
       }},
      {"server_stream", kServerStream,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         Bound(&context);
         DownloadRequest request;
         for (uint32_t size : {10u, 0u, 300u}) request.add_reply_sizes(size);
         auto reader = stub.StreamingOutputCall(&context, request);
         StreamChunk chunk;
         while (reader.Read(&chunk)) {
         }
         (void)reader.Finish();
       }},
      {"server_stream_window_updates", kServerStream,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         DownloadRequest request;
         for (int i = 0; i < 3; ++i) request.add_reply_sizes(12000);
         auto reader = stub.StreamingOutputCall(&context, request);
         StreamChunk chunk;
         while (reader.Read(&chunk)) {
         }
         (void)reader.Finish();
       }},
      {"server_stream_cancelled", kServerStream,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         DownloadRequest request;
         for (int i = 0; i < 50; ++i) request.add_reply_sizes(8);
         request.set_pause_us(2000);
         auto reader = stub.StreamingOutputCall(&context, request);
         StreamChunk chunk;
         (void)reader.Read(&chunk);
         context.TryCancel();
         (void)reader.Finish();
       }},
      {"client_stream", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         auto writer = stub.StreamingInputCall(&context);
         UploadChunk chunk;
         for (int i = 0; i < 3; ++i) {
           chunk.set_body(std::string(20 * (i + 1), 'u'));
           (void)writer.Write(chunk);
         }
         (void)writer.Finish();
       }},
      {"bidi", kBidi,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         auto stream = stub.FullDuplexCall(&context);
         DuplexRequest request;
         request.set_reply_size(10);
         StreamChunk chunk;
         for (int i = 0; i < 2; ++i) {
           (void)stream.Write(request);
           (void)stream.Read(&chunk);
         }
         (void)stream.WritesDone();
         while (stream.Read(&chunk)) {
         }
         (void)stream.Finish();
       }},
      {"half_duplex_error", kBidi,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         auto stream = stub.HalfDuplexCall(&context);
         DuplexRequest request;
         request.set_reply_size(5);
         (void)stream.Write(request);
         request.mutable_echo_status()->set_code(9);
         (void)stream.Write(request);
         (void)stream.WritesDone();
         StreamChunk chunk;
         while (stream.Read(&chunk)) {
         }
         (void)stream.Finish();
       }},
      {"two_calls_at_once", kTwoUnary,
       [](InteropTest::Stub& stub) {
         ClientContext first_context;
         ClientContext second_context;
         auto first = stub.AsyncEmptyCall(&first_context, Nothing());
         auto second = stub.AsyncEmptyCall(&second_context, Nothing());
         (void)first.Get();
         (void)second.Get();
       }},
      {"deadline_exceeded", kUnary,
       [](InteropTest::Stub& stub) {
         ClientContext context;
         context.set_timeout(absl::Milliseconds(20));
         SleepRequest request;
         request.set_sleep_ms(1000);
         (void)stub.SleepCall(&context, request);
       }},
  };
}

// A reflection ListServices call, made without the reflection stub (its
// request is empty and its reply is kept as unknown fields).
void ListServices(const std::shared_ptr<sockrpc::Channel>& channel) {
  sockrpc::interop::Nothing request;
  sockrpc::interop::Nothing reply;
  ClientContext context;
  (void)channel->CallUnary(&context,
                           "/sockrpc.reflection.v1.Reflection/ListServices",
                           request, &reply);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const std::string server_name = absl::StrCat("sockrpc-corpus-", getpid());
  const std::string relay_name = absl::StrCat(server_name, "-relay");

  sockrpc::interop::InteropService service;
  sockrpc::Server server;
  if (!server.RegisterService(&service).ok() ||
      !server.Listen(absl::StrCat("unix-abstract:", server_name)).ok() ||
      !server.Start().ok()) {
    std::fprintf(stderr, "make_fuzz_corpus: cannot start the server\n");
    return 1;
  }
  int relay_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t length = sockrpc::fuzz::AbstractAddress(relay_name, &addr);
  if (bind(relay_fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
      listen(relay_fd, 4) != 0) {
    sockrpc::fuzz::Fail("relay listen");
  }

  std::vector<Scenario> scenarios = Scenarios();
  scenarios.push_back({"reflection_list_services", kUnary, nullptr});
  for (const Scenario& scenario : scenarios) {
    Capture capture;
    std::thread relay([&] { capture = Relay(relay_fd, server_name); });
    {
      auto channel =
          *sockrpc::CreateChannel(absl::StrCat("unix-abstract:", relay_name));
      if (scenario.run) {
        InteropTest::Stub stub(channel);
        scenario.run(stub);
      } else {
        ListServices(channel);
      }
    }  // the channel closes its connection; the relay sees both ends close
    relay.join();
    const std::string name = scenario.name;
    WriteFile(out / "server_connection" / name, capture.client_bytes);
    WriteFile(out / "client_response" / name,
              std::string(1, scenario.kind) + capture.server_bytes);
    // Frames after the preface; 64-byte reads, the default limit.
    const std::string frames_header("\x3f\x00", 2);
    WriteFile(out / "frame_decoder" / (name + ".c2s"),
              frames_header + capture.client_bytes.substr(8));
    WriteFile(out / "frame_decoder" / (name + ".s2c"),
              frames_header + capture.server_bytes.substr(8));
    WriteFile(out / "preface" / name, capture.client_bytes.substr(0, 64));
    WriteDecodeSeeds(out / "decode", name, capture);
    std::printf("%-30s client %5zu bytes, server %6zu bytes\n", name.c_str(),
                capture.client_bytes.size(), capture.server_bytes.size());
  }
  close(relay_fd);
  server.Shutdown();
  return 0;
}
