// The benchmark loops: each runs one case against a server already started
// in another process, for a warm-up and then a measured window, and
// returns what it measured. Internal to bench/.
//
// Raw* drive raw_server (raw_wire.h); Rpc* drive bench_server through the
// sockrpc client runtime. Same sizes, same window, so that each Rpc* figure
// has its Raw* limit beside it. gRPC's counterparts are in grpc_cases.h
// and run in their own process.
#ifndef SOCKRPC_BENCH_CASES_H_
#define SOCKRPC_BENCH_CASES_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "measure.h"

namespace sockrpc {

class Channel;  // client/channel.h

namespace bench {

// CaseSpec: the parameters of one run.
struct CaseSpec {
  std::string address;   // "unix:PATH" or "ipv4:127.0.0.1:PORT"
  size_t size = 64;      // payload bytes, each way
  int in_flight = 1;     // calls outstanding per connection
  int connections = 1;   // connections, one client thread each
  bool batch = false;    // ChannelOptions::batch_call_starts (our stack)
  bool buffer_hint = false;  // streams: the server writes with the hint
  bool copies = false;       // raw ping-pong: both sides copy the payload as an
                             // RPC does (raw_wire.h, kCopyFlag)
  double warmup_seconds = 0.2;
  double seconds = 1.0;
  pid_t server = 0;      // for CPU per call (0: client CPU only)
  // TLS: the trust roots (PEM) of the server's certificate, which names
  // "localhost"; empty: plain.
  std::string tls_ca;
};

// The name a benchmark server's TLS certificate carries.
inline constexpr char kBenchTlsName[] = "localhost";

// Runs `loop` on spec.connections threads at once, each with a connection
// of its own and its own measuring window, and sums their calls/s.
using ConnectionLoop = bool (*)(const CaseSpec& spec, Window* window,
                                int64_t* calls);
Result RunOnEachConnection(const CaseSpec& spec, ConnectionLoop loop);

// Blocking round trips, one at a time: latency, calls/s, CPU per call.
Result RawPingPong(const CaseSpec& spec);
Result RpcUnary(const CaseSpec& spec);

// Exactly `calls` blocking round trips, unmeasured (for profilers).
bool RpcUnaryCalls(const CaseSpec& spec, long calls);

// A channel for `spec`: its address, ChannelOptions::batch_call_starts
// from spec.batch, TLS if it names trust roots; null (and a message on
// stderr) if it cannot be made.
std::shared_ptr<Channel> ConnectCase(const CaseSpec& spec);

// Through the client's callback API (callback_cases.cc): spec.in_flight
// chains of calls on one connection, each call started by the `done` of
// the one before, on the channel's event loop: latency (of each call from
// its start), calls/s, CPU per call.
Result RpcCallbackCalls(const CaseSpec& spec);

// spec.in_flight calls outstanding on each of spec.connections
// connections: calls/s only.
Result RawPipelined(const CaseSpec& spec);
Result RpcInFlight(const CaseSpec& spec);
// About `calls` calls, spec.in_flight at a time, unmeasured (for profilers).
bool RpcInFlightCalls(const CaseSpec& spec, long calls);

// One stream of spec.size-byte messages from the server: messages/s.
Result RawStream(const CaseSpec& spec);
Result RpcStream(const CaseSpec& spec);
// RpcStreamMessages: one Stream call of `messages` messages of spec.size
// bytes to spec.address; prints the rate. The client side of a streaming
// profile (--profile-stream).
bool RpcStreamMessages(const CaseSpec& spec, long messages);

// Connect, one 1-byte round trip, close: latency of the whole.
Result RawConnect(const CaseSpec& spec);
Result RpcConnect(const CaseSpec& spec);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_CASES_H_
