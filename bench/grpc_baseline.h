// The gRPC baseline ("the peer") as the runner sees it: whether it was
// built, its server, and its client cases, each run in a separate
// grpc_bench_client process (see grpc_cases.h for why). The runner itself
// never links gRPC. Internal to bench/.
#ifndef SOCKRPC_BENCH_GRPC_BASELINE_H_
#define SOCKRPC_BENCH_GRPC_BASELINE_H_

#include <memory>
#include <string>
#include <vector>

#include "cases.h"
#include "child_process.h"
#include "measure.h"

namespace sockrpc {
namespace bench {

// What the runner prints when the gRPC baseline was not built.
inline constexpr char kGrpcNotBuilt[] =
    "gRPC baseline: not built (install libgrpc++-dev "
    "protobuf-compiler-grpc)";

// GrpcVersion: the version of gRPC the baseline was built with
// ("1.51.1"), or "" if bench/CMakeLists.txt did not find gRPC.
std::string GrpcVersion();
inline bool GrpcBuilt() { return !GrpcVersion().empty(); }

// StartGrpcServer runs grpc_bench_server from `bin` on `addresses`
// (pinned to `cpu` if >= 0), with `flags` (TLS) before them. Null if the
// baseline was not built or the
// server did not start (with a message on stderr).
std::unique_ptr<ChildServer> StartGrpcServer(
    const std::string& bin, const std::vector<std::string>& addresses,
    int cpu = -1, const std::vector<std::string>& flags = {});

// RunGrpcCase runs case `name` of grpc_cases.h ("unary", "in_flight",
// "stream", "connect") on `spec` in a grpc_bench_client from `bin`, pinned
// to `cpu` if >= 0, and returns its Result; not ok (with a message on
// stderr) if the client failed or ran a minute past its window.
Result RunGrpcCase(const std::string& bin, const std::string& name,
                   const CaseSpec& spec, int cpu = -1);

// HoldGrpcConnections starts a grpc_bench_client from `bin` holding
// `connections` idle connections to `address`, each established (an
// HTTP/2 connection with its settings exchanged). Null on failure. The
// connections close when the returned process is destroyed.
// *connected: how many connected.
std::unique_ptr<ChildServer> HoldGrpcConnections(const std::string& bin,
                                                 const std::string& address,
                                                 int connections,
                                                 int* connected);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_GRPC_BASELINE_H_
