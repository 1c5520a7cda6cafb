// grpc_bench_client: the gRPC baseline's client. Runs one case of
// grpc_cases.h against grpc_bench_server and prints its result; started
// by the benchmark runner once per case (the command line and the answer
// are in case_command.h).
//
//   grpc_bench_client --case unary|in_flight|stream|connect
//       --address ADDR [--size N] [--in-flight N] [--connections N]
//       [--warmup S] [--seconds S] [--server-pid PID]
//   grpc_bench_client --case idle --address ADDR --connections N
//
// The idle case opens N connections, prints "ready CONNECTED" once they
// are up, and holds them until SIGTERM (the server memory case).
//
// A case that hangs is killed by SIGALRM a minute after its window.
#include <grpc/grpc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "case_command.h"
#include "grpc_cases.h"

namespace sockrpc {
namespace bench {
namespace {

// GrpcRuntime keeps gRPC initialised for the life of the process, so that
// a case that drops its last channel (connect) does not shut gRPC down
// and start it again every time.
class GrpcRuntime {
 public:
  GrpcRuntime() { grpc_init(); }
  ~GrpcRuntime() { grpc_shutdown(); }
  GrpcRuntime(const GrpcRuntime&) = delete;
  GrpcRuntime& operator=(const GrpcRuntime&) = delete;
};

int HoldIdle(const CaseSpec& spec, const sigset_t& stop_signals) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  int connected = GrpcConnectIdle(spec, &channels);
  std::printf("ready %d\n", connected);
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return 0;
}

int Run(const std::string& name, const CaseSpec& spec) {
  Result result;
  if (name == "unary") {
    result = GrpcUnary(spec);
  } else if (name == "in_flight") {
    result = GrpcInFlight(spec);
  } else if (name == "stream") {
    result = GrpcStream(spec);
  } else if (name == "connect") {
    result = GrpcConnect(spec);
  } else {
    std::fprintf(stderr, "grpc_bench_client: unknown case %s\n", name.c_str());
    return 2;
  }
  if (!result.ok) return 1;
  std::fputs(FormatResult(result).c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace sockrpc

int main(int argc, char** argv) {
  std::string name;
  sockrpc::bench::CaseSpec spec;
  if (!sockrpc::bench::ParseCaseArgv(argc, argv, &name, &spec)) return 2;
  ::alarm(static_cast<unsigned>(spec.warmup_seconds + spec.seconds) + 60);

  // The idle case waits for SIGTERM with sigwait: block it before gRPC
  // starts any thread so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (name == "idle") pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sockrpc::bench::GrpcRuntime runtime;
  if (name == "idle") return sockrpc::bench::HoldIdle(spec, stop_signals);
  return sockrpc::bench::Run(name, spec);
}
