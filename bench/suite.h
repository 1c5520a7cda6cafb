// The groups of rows of the benchmark table. Each group runs one kind of
// case on every side (our stack, the raw baseline, and gRPC where built)
// and adds its rows to the report. Internal to bench/.
#ifndef SOCKRPC_BENCH_SUITE_H_
#define SOCKRPC_BENCH_SUITE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "child_process.h"
#include "report.h"

namespace sockrpc {
namespace bench {

// Options: the runner's command line.
struct Options {
  double seconds = 1.0;
  std::string out = "build/bench.json";
  std::string bin;  // directory of the bench binaries
  bool quick = false;  // a few unix rows only (see bench_main.cc)
  bool open_streams_only = false;  // the open-streams rows only
};

// Servers: what a group runs against. Each server lists the same
// transports in the same order (unix first, then tcp where there is one);
// grpc is null when the gRPC baseline is absent.
struct Servers {
  std::unique_ptr<ChildServer> rpc;
  std::unique_ptr<ChildServer> raw;
  std::unique_ptr<ChildServer> grpc;
};

// A transport by its index in the servers' address lists.
enum Transport { kUnix = 0, kTcp = 1 };

// Unary round trips of `size` bytes: p50, p99, calls/s, CPU per call.
// `label` ends the row names (", 1 core"); `cpu` >= 0 pins the gRPC
// client there (the caller pins its own thread).
void UnaryRows(const Options& options, const Servers& servers,
               Transport transport, size_t size, const std::string& label,
               int cpu, Report* report);

// 64 B calls, `in_flight` outstanding on each of `connections`
// connections: calls/s.
void InFlightRows(const Options& options, const Servers& servers,
                  Transport transport, int in_flight, int connections,
                  Report* report);

// Server streaming of 64 B messages: messages/s.
void StreamRows(const Options& options, const Servers& servers,
                Transport transport, Report* report);

// Connection set-up and one 1 B call: p50.
void ConnectRows(const Options& options, const Servers& servers,
                 Transport transport, Report* report);

// TLS on TCP loopback (tls_rows.cc): unary 64 B p50 (target: at most
// 1.3x the same over plain TCP, `plain`'s servers), calls/s and CPU per
// call, and connection set-up with a first call; gRPC over TLS beside
// each. Its servers and certificate are its own, made in `dir`.
void TlsRows(const Options& options, const Servers& plain,
             const std::string& dir, Report* report);

// The minimal clients' binary and shared-library sizes, calling the unix
// address of `servers` (footprint.cc).
void ClientSizeRows(const Options& options, const Servers& servers,
                    Report* report);

// The gRPC gateway's hop (tools/gateway/): a gRPC client's unary calls
// through sockrpc-gateway to `servers`' bench_server, against the same
// client calling grpc_bench_server directly and against our client
// calling bench_server directly; none without the gRPC baseline. The
// gateway listens in `dir`.
void GatewayRows(const Options& options, const Servers& servers,
                 const std::string& dir, Report* report);

// Server resident memory, idle and with 1000 idle connections, of fresh
// servers listening in `dir` (footprint.cc).
void MemoryRows(const Options& options, const std::string& dir,
                Report* report);

// Server-streaming calls held open on a fresh bench_server (10,000, then
// 100,000, over 100 unix connections): its threads, its memory per open
// call, the time from publishing a 64 B event to all until the last has
// it, and a unary call's p99 beside them against none open
// (open_streams.cc).
void OpenStreamRows(const Options& options, const std::string& dir,
                    Report* report);
// The client side of the open-streams case, unmeasured, for profiling a
// bench_server already serving at `address`: opens `streams` Subscribe
// calls over 100 connections, publishes `publishes` events to them one
// after another, and prints how long each took to reach the last.
bool PublishToOpenStreams(const std::string& address, int streams,
                          int publishes);

// What the live stats cost a unary 64 B call over unix: p50 and CPU per
// call against a bench_server with --stats and one without, in
// alternating rounds, and the server's instructions per call under
// callgrind where valgrind is installed (stats_cost.cc).
void StatsCostRows(const Options& options, const std::string& dir,
                   Report* report);

// The callback API (server reactors, client callbacks) against the
// blocking API on unary 64 B (p50, CPU per call), 8 and 64 in flight on
// one connection and server streaming with the buffer hint, over unix:
// two bench_servers (one --callback) in alternating rounds
// (callback_rows.cc). Target: at least as fast (within 3%).
void CallbackApiRows(const Options& options, const std::string& dir,
                     Report* report);

// Instructions, heap allocations and system calls per warm unary 64 B call
// on each side: bench_server and call_loop under callgrind, then strace,
// where installed (call_cost_rows.cc). Scratch files go in `dir`.
void CallCostRows(const Options& options, const std::string& dir,
                  Report* report);

// A fresh bench_server with 4 handler threads, all blocked, and 1,000
// blocking calls queued: the latency of a callback call, a PING, a CANCEL
// of a queued call and a client's disconnect, and whether cancelled calls
// stay unrun (full_pool.cc).
void FullPoolRows(const Options& options, const std::string& dir,
                  Report* report);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_SUITE_H_
