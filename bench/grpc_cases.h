// The gRPC baseline's client loops: the same cases as cases.h, driven
// through gRPC's C++ client against grpc_bench_server. Run in their own
// process (grpc_bench_client), never in the runner: gRPC's background
// threads would otherwise count in the runner's CPU time of our cases.
// Internal to bench/.
#ifndef SOCKRPC_BENCH_GRPC_CASES_H_
#define SOCKRPC_BENCH_GRPC_CASES_H_

#include <grpcpp/channel.h>

#include <memory>
#include <vector>

#include "cases.h"
#include "measure.h"

namespace sockrpc {
namespace bench {

// Blocking round trips with the synchronous stub, one at a time: latency,
// calls/s, CPU per call (this process plus spec.server).
Result GrpcUnary(const CaseSpec& spec);

// spec.in_flight calls outstanding on each of spec.connections channels
// (each its own connection), through the asynchronous CompletionQueue
// API, one thread and queue per channel: calls/s only.
Result GrpcInFlight(const CaseSpec& spec);

// Stream calls of 50,000 spec.size-byte messages: messages/s.
Result GrpcStream(const CaseSpec& spec);

// A new channel, one 1-byte Echo, the channel dropped: latency of the
// whole.
Result GrpcConnect(const CaseSpec& spec);

// GrpcConnectIdle opens spec.connections channels to spec.address, each
// on its own connection, and waits (up to 20 s) until they are connected.
// The channels go to *channels; returns how many connected.
int GrpcConnectIdle(const CaseSpec& spec,
                    std::vector<std::shared_ptr<grpc::Channel>>* channels);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_GRPC_CASES_H_
