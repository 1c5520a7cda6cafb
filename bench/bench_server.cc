// bench_server: serves the benchmark service (bench.proto) until SIGTERM or
// SIGINT. Started by the benchmark runner as a separate process.
//
//   bench_server --listen ADDR [--listen ADDR...]
//
// Prints "ready ADDR..." (the bound addresses, real ports included) on one
// line of standard output once it serves, so that the runner knows when
// and where to connect.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench.sockrpc.pb.h"
#include "server/server.h"

namespace {

class BenchService final : public sockrpc::bench::Bench::Service {
 public:
  absl::Status Echo(sockrpc::ServerContext* context,
                    const sockrpc::bench::Payload& request,
                    sockrpc::bench::Payload* reply) override {
    *reply = request;
    return absl::OkStatus();
  }

  absl::Status Stream(
      sockrpc::ServerContext* context,
      const sockrpc::bench::StreamRequest& request,
      sockrpc::ServerWriter<sockrpc::bench::Payload>* writer) override {
    sockrpc::bench::Payload message;
    message.set_body(std::string(request.size(), 'x'));
    for (uint32_t i = 0; i < request.count(); ++i) {
      if (!writer->Write(message)) break;
    }
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> addresses;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      addresses.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_server --listen ADDR...\n");
      return 2;
    }
  }
  if (addresses.empty()) {
    std::fprintf(stderr, "usage: bench_server --listen ADDR...\n");
    return 2;
  }

  // SIGTERM/SIGINT are taken synchronously by main's sigwait below; block
  // them before any server thread starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  BenchService service;
  sockrpc::ServerOptions options;
  options.log = [](absl::string_view) {};  // the runner opens and drops
                                           // many connections on purpose
  sockrpc::Server server(options);
  if (absl::Status s = server.RegisterService(&service); !s.ok()) {
    std::fprintf(stderr, "bench_server: %s\n", s.ToString().c_str());
    return 1;
  }
  std::string bound;
  for (const std::string& address : addresses) {
    absl::StatusOr<std::string> listening = server.Listen(address);
    if (!listening.ok()) {
      std::fprintf(stderr, "bench_server: %s\n",
                   listening.status().ToString().c_str());
      return 1;
    }
    bound += " " + *listening;
  }
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "bench_server: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("ready%s\n", bound.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.Shutdown();
  return 0;
}
