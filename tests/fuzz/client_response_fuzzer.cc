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
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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

// The fake server. Its listening socket lives as long as the process; each
// input gets its own serving thread, which the input stops and joins before
// it returns, so that nothing of one input (a thread, a copy of the script)
// outlives it and the leak check after each input sees a quiet process.
struct FakeServer {
  std::string name;
  int listen_fd = -1;
};
FakeServer* fake = nullptr;

void StartFakeServer() {
  fake = new FakeServer;
  fake->name = absl::StrCat("sockrpc-fuzz-client-", getpid());
  fake->listen_fd =
      socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t length = sockrpc::fuzz::AbstractAddress(fake->name, &addr);
  if (fake->listen_fd < 0 ||
      bind(fake->listen_fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
      listen(fake->listen_fd, 64) != 0) {
    sockrpc::fuzz::Fail("fake server");
  }
}

// One input's server: answers every connection with `script` (sent whole,
// then a half-close) and drops what the client sends, until `stop_fd`
// becomes readable; then closes every connection it accepted.
class ScriptServer {
 public:
  explicit ScriptServer(const std::string& script) : script_(script) {
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0) sockrpc::fuzz::Fail("pipe2");
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptServer() {
    if (write(stop_pipe_[1], "x", 1) != 1) sockrpc::fuzz::Fail("write");
    thread_.join();
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

 private:
  struct Connection {
    int fd;
    size_t sent = 0;
    bool write_closed = false;
    bool read_closed = false;
  };

  void Serve() {
    std::vector<Connection> connections;
    std::vector<pollfd> polled;
    char buffer[64 * 1024];
    for (;;) {
      polled.assign({{stop_pipe_[0], POLLIN, 0},
                     {fake->listen_fd, POLLIN, 0}});
      for (const Connection& c : connections) {
        short events = c.read_closed ? 0 : POLLIN;
        if (!c.write_closed) events |= POLLOUT;
        polled.push_back({c.fd, events, 0});
      }
      if (poll(polled.data(), polled.size(), -1) < 0) {
        if (errno == EINTR) continue;
        sockrpc::fuzz::Fail("poll");
      }
      if (polled[0].revents != 0) break;
      if (polled[1].revents & POLLIN) {
        int fd = accept4(fake->listen_fd, nullptr, nullptr,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) connections.push_back(Connection{fd});
      }
      for (size_t i = 2; i < polled.size(); ++i) {
        Connection& c = connections[i - 2];
        const short revents = polled[i].revents;
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
          ssize_t got = recv(c.fd, buffer, sizeof(buffer), 0);
          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            c.read_closed = true;  // the client hung up (or reset)
            c.sent = script_.size();
          }
        }
        if (!c.write_closed && c.sent < script_.size() &&
            (revents & POLLOUT)) {
          ssize_t put = send(c.fd, script_.data() + c.sent,
                             script_.size() - c.sent, MSG_NOSIGNAL);
          if (put > 0) {
            c.sent += static_cast<size_t>(put);
          } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
            c.sent = script_.size();  // the client is gone; just drain
          }
        }
        if (!c.write_closed && c.sent == script_.size()) {
          shutdown(c.fd, SHUT_WR);
          c.write_closed = true;
        }
      }
      // A connection closed both ways is done (poll would keep reporting
      // its hang-up).
      for (size_t i = connections.size(); i-- > 0;) {
        if (connections[i].read_closed && connections[i].write_closed) {
          close(connections[i].fd);
          connections.erase(connections.begin() + i);
        }
      }
    }
    for (const Connection& c : connections) close(c.fd);
  }

  const std::string& script_;
  int stop_pipe_[2];
  std::thread thread_;
};

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
  const std::string script(reinterpret_cast<const char*>(data + 1), size - 1);
  ScriptServer server(script);
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(absl::StrCat("unix-abstract:", fake->name));
  if (!channel.ok()) std::abort();
  const absl::Time start = absl::Now();
  {
    InteropTest::Stub stub(*channel);
    RunCall(data[0], stub);
  }
  if (absl::Now() - start >= kCallLimit) {
    std::fprintf(stderr, "a call waited for its deadline although the "
                         "server had closed the connection\n");
    std::abort();
  }
  channel->reset();  // the client hangs up before the server stops
  return 0;
}
