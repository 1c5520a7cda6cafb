#include "grpc_baseline.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "case_command.h"

// SOCKRPC_BENCH_GRPC_VERSION: set by bench/CMakeLists.txt to gRPC's
// version when it found gRPC and built the baseline's binaries.
#ifndef SOCKRPC_BENCH_GRPC_VERSION
#define SOCKRPC_BENCH_GRPC_VERSION ""
#endif

namespace sockrpc {
namespace bench {

std::string GrpcVersion() { return SOCKRPC_BENCH_GRPC_VERSION; }

std::unique_ptr<ChildServer> StartGrpcServer(
    const std::string& bin, const std::vector<std::string>& addresses, int cpu,
    const std::vector<std::string>& flags) {
  if (!GrpcBuilt()) return nullptr;
  std::vector<std::string> argv = {bin + "/grpc_bench_server"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (const std::string& address : addresses) {
    argv.push_back("--listen");
    argv.push_back(address);
  }
  std::unique_ptr<ChildServer> server = ChildServer::Start(argv, cpu);
  if (server != nullptr && server->addresses().size() != addresses.size()) {
    std::fprintf(stderr, "bench: grpc_bench_server gave %zu addresses\n",
                 server->addresses().size());
    return nullptr;
  }
  return server;
}

Result RunGrpcCase(const std::string& bin, const std::string& name,
                   const CaseSpec& spec, int cpu) {
  Result result;
  std::optional<std::string> output =
      RunChild(CaseArgv(bin + "/grpc_bench_client", name, spec),
               spec.warmup_seconds + spec.seconds + 60, cpu);
  if (!output.has_value() || !ParseResult(*output, &result)) {
    std::fprintf(stderr, "bench: gRPC case %s on %s failed\n", name.c_str(),
                 spec.address.c_str());
    return Result();
  }
  return result;
}

std::unique_ptr<ChildServer> HoldGrpcConnections(const std::string& bin,
                                                 const std::string& address,
                                                 int connections,
                                                 int* connected) {
  CaseSpec spec;
  spec.address = address;
  spec.connections = connections;
  // The client waits up to 20 s for its connections; give it 30.
  std::unique_ptr<ChildServer> holder = ChildServer::Start(
      CaseArgv(bin + "/grpc_bench_client", "idle", spec), -1, 30);
  if (holder == nullptr || holder->addresses().size() != 1) return nullptr;
  *connected = std::atoi(holder->addresses()[0].c_str());
  return holder;
}

}  // namespace bench
}  // namespace sockrpc
