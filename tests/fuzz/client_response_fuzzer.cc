// Fuzz target: the client's parsing of what a server sends. A fake server
// on an abstract unix socket answers every connection with the input's
// bytes (the server's preface included, or not), half-closes, and drains
// what the client sends until the client hangs up. A real sockrpc::Channel
// makes one kind of call against it, chosen by the input's first byte:
//
//   0 unary call   1 server stream   2 bidirectional stream
//   3 two async unary calls on one connection
//
// Checks, beyond "no crash, no sanitizer report": every call ends (the
// fake server always closes, so no call may wait for its deadline), with
// a status whatever the bytes.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "google/protobuf/stubs/logging.h"
#include "interop.sockrpc.pb.h"
#include "tests/fuzz/fuzz_socket.h"

namespace {

using ::sockrpc::ClientContext;
using ::sockrpc::interop::InteropTest;

// A call may take this long before the harness calls it a hang.
constexpr absl::Duration kCallLimit = absl::Seconds(5);

// The fake server: what it answers with, and its listening socket.
struct FakeServer {
  std::mutex mu;
  std::string script;  // guarded by mu
  std::string name;
  int listen_fd = -1;
};
FakeServer* fake = nullptr;

void Serve(int fd, std::string script) {
  (void)sockrpc::fuzz::ExchangeAndDrain(fd, script, /*timeout_ms=*/10000);
  close(fd);
}

void AcceptLoop() {
  for (;;) {
    int fd = accept4(fake->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string script;
    {
      std::lock_guard<std::mutex> lock(fake->mu);
      script = fake->script;
    }
    std::thread(Serve, fd, std::move(script)).detach();
  }
}

void StartFakeServer() {
  fake = new FakeServer;
  fake->name = absl::StrCat("sockrpc-fuzz-client-", getpid());
  fake->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t length = sockrpc::fuzz::AbstractAddress(fake->name, &addr);
  if (fake->listen_fd < 0 ||
      bind(fake->listen_fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
      listen(fake->listen_fd, 64) != 0) {
    sockrpc::fuzz::Fail("fake server");
  }
  std::thread(AcceptLoop).detach();
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
  if (fake == nullptr) StartFakeServer();
  {
    std::lock_guard<std::mutex> lock(fake->mu);
    fake->script.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  }
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(absl::StrCat("unix-abstract:", fake->name));
  if (!channel.ok()) std::abort();
  InteropTest::Stub stub(*channel);
  const absl::Time start = absl::Now();
  RunCall(data[0], stub);
  if (absl::Now() - start >= kCallLimit) {
    std::fprintf(stderr, "a call waited for its deadline although the "
                         "server had closed the connection\n");
    std::abort();
  }
  return 0;
}
