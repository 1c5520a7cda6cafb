// The call-path groups of the table (suite.h): unary, in flight, server
// streaming, connect. For each case the raw baseline runs first, then our
// stack, then gRPC, on the same sizes and transport.
#include "suite.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "cases.h"
#include "grpc_baseline.h"

namespace sockrpc {
namespace bench {
namespace {

const char* TransportName(Transport transport) {
  return transport == kUnix ? "unix" : "tcp";
}

std::string SizeName(size_t size) {
  if (size >= (1 << 20)) return absl::StrFormat("%d MiB", size >> 20);
  if (size >= (1 << 10)) return absl::StrFormat("%d KiB", size >> 10);
  return absl::StrFormat("%d B", size);
}

// Points `spec` at `server`'s address for `transport`; with_pid also
// names the server for CPU per call.
CaseSpec At(CaseSpec spec, const ChildServer& server, Transport transport,
            bool with_pid) {
  spec.address = server.addresses()[transport];
  spec.server = with_pid ? server.pid() : 0;
  return spec;
}

// The gRPC side of a case: not ok (no figures) without a gRPC server.
Result Grpc(const Options& options, const Servers& servers,
            const std::string& name, const CaseSpec& spec,
            Transport transport, bool with_pid, int cpu = -1) {
  if (servers.grpc == nullptr) return Result();
  return RunGrpcCase(options.bin, name,
                     At(spec, *servers.grpc, transport, with_pid), cpu);
}

void ReportFailure(const std::string& what, const Result& base,
                   const Result& ours) {
  if (!base.ok || !ours.ok) {
    std::fprintf(stderr, "bench: %s failed (raw %s, sockrpc %s)\n",
                 what.c_str(), base.ok ? "ok" : "failed",
                 ours.ok ? "ok" : "failed");
  }
}

}  // namespace

void UnaryRows(const Options& options, const Servers& servers,
               Transport transport, size_t size, const std::string& label,
               int cpu, Report* report) {
  CaseSpec spec;
  spec.size = size;
  spec.seconds = options.seconds;
  Result base = RawPingPong(At(spec, *servers.raw, transport, true));
  Result ours = RpcUnary(At(spec, *servers.rpc, transport, true));
  Result peer = Grpc(options, servers, "unary", spec, transport, true, cpu);
  std::string name =
      "unary " + SizeName(size) + " " + TransportName(transport) + label;
  ReportFailure(name, base, ours);

  bool unix64 = transport == kUnix && size == 64;
  bool unix1m = transport == kUnix && size == (1 << 20);
  // Issue 19's targets: 1.25x raw, 1.3x with everything on one core.
  double p50_target = label.empty() ? 1.25 : 1.3;
  Row p50 = unix64 || unix1m
                ? AtMost(name + " p50", "us", ours.p50_us, base.p50_us, "raw",
                         unix1m ? 1.3 : p50_target)
                : Plain(name + " p50", "us", ours.p50_us, base.p50_us, "raw");
  report->Add(p50.WithGrpc(peer.p50_us));
  if (unix1m) {
    // The floor of a protobuf call of this size: the raw round trip plus
    // the five copies of the payload any protobuf echo makes (serialize
    // and parse on each side, the handler's reply), made by the raw
    // programs themselves (raw_wire.h, kCopyFlag).
    CaseSpec copying = spec;
    copying.copies = true;
    Result floor = RawPingPong(At(copying, *servers.raw, transport, true));
    ReportFailure(name + " vs raw + copies", floor, ours);
    report->Add(AtMost(name + " p50 vs raw + copies", "us", ours.p50_us,
                       floor.p50_us, "raw + copies", 1.3));
  }
  report->Add(Plain(name + " p99", "us", ours.p99_us, base.p99_us, "raw")
                  .WithGrpc(peer.p99_us));
  report->Add(
      Plain(name + " rate", "calls/s", ours.rate(), base.rate(), "raw")
          .WithGrpc(peer.rate()));
  Row cpu_row = unix64 ? AtMost(name + " CPU/call", "us", ours.cpu_us_per_call,
                                base.cpu_us_per_call, "raw", 1.5)
                       : Plain(name + " CPU/call", "us", ours.cpu_us_per_call,
                               base.cpu_us_per_call, "raw");
  report->Add(cpu_row.WithGrpc(peer.cpu_us_per_call));
}

void InFlightRows(const Options& options, const Servers& servers,
                  Transport transport, int in_flight, int connections,
                  Report* report) {
  CaseSpec spec;
  spec.size = 64;
  spec.in_flight = in_flight;
  spec.connections = connections;
  spec.seconds = options.seconds;
  Result base = RawPipelined(At(spec, *servers.raw, transport, false));
  // Our client as a pipelining user would configure it (ChannelOptions::
  // batch_call_starts; the raw sender batches its writes too).
  CaseSpec batched = spec;
  batched.batch = true;
  Result ours = RpcInFlight(At(batched, *servers.rpc, transport, false));
  Result peer = Grpc(options, servers, "in_flight", spec, transport, false);
  std::string name =
      absl::StrFormat("64 B, %d in flight x %d conn %s", in_flight,
                      connections, TransportName(transport));
  ReportFailure(name, base, ours);
  Row row = in_flight >= 8 ? AtLeast(name, "calls/s", ours.rate(), base.rate(),
                                     "raw pipelined", 0.5)
                           : Plain(name, "calls/s", ours.rate(), base.rate(),
                                   "raw pipelined");
  report->Add(row.WithGrpc(peer.rate()));
}

void StreamRows(const Options& options, const Servers& servers,
                Transport transport, Report* report) {
  CaseSpec spec;
  spec.size = 64;
  spec.seconds = options.seconds;
  Result base = RawStream(At(spec, *servers.raw, transport, false));
  // Every message its own write, then a burst written with the buffer
  // hint. gRPC's column is its plain stream on both rows: its synchronous
  // server, given the same hint, stalls (the client's 50,000-message call
  // did not end within the case's alarm, on unix and TCP).
  Result ours = RpcStream(At(spec, *servers.rpc, transport, false));
  Result peer = Grpc(options, servers, "stream", spec, transport, false);
  std::string name =
      std::string("server streaming 64 B ") + TransportName(transport);
  ReportFailure(name, base, ours);
  report->Add(Plain(name, "msgs/s", ours.rate(), base.rate(), "raw stream")
                  .WithGrpc(peer.rate()));

  CaseSpec hinted = spec;
  hinted.buffer_hint = true;
  Result ours_hinted = RpcStream(At(hinted, *servers.rpc, transport, false));
  name += ", buffer hint";
  ReportFailure(name, base, ours_hinted);
  Row row = transport == kUnix
                ? Reaching(name, "msgs/s", ours_hinted.rate(), 2e6, ">= 2M",
                           base.rate(), "raw stream")
                : Plain(name, "msgs/s", ours_hinted.rate(), base.rate(),
                        "raw stream");
  report->Add(row.WithGrpc(peer.rate()));
}

void ConnectRows(const Options& options, const Servers& servers,
                 Transport transport, Report* report) {
  CaseSpec spec;
  spec.seconds = options.seconds;
  Result base = RawConnect(At(spec, *servers.raw, transport, false));
  Result ours = RpcConnect(At(spec, *servers.rpc, transport, false));
  Result peer = Grpc(options, servers, "connect", spec, transport, false);
  std::string name =
      std::string("connect + first call ") + TransportName(transport);
  ReportFailure(name, base, ours);
  report->Add(Plain(name + " p50", "us", ours.p50_us, base.p50_us, "raw")
                  .WithGrpc(peer.p50_us));
}

void GatewayRows(const Options& options, const Servers& servers,
                 const std::string& dir, Report* report) {
  if (servers.grpc == nullptr) return;  // no gRPC client either
  std::unique_ptr<ChildServer> gateway =
      ChildServer::Start({options.bin + "/sockrpc-gateway", "--listen",
                          "unix:" + dir + "/gateway.sock", "--upstream",
                          servers.rpc->addresses()[kUnix], "--print-ready"});
  if (gateway == nullptr) return;  // (a message on stderr)
  CaseSpec spec;
  spec.size = 64;
  spec.seconds = options.seconds;
  Result direct = RpcUnary(At(spec, *servers.rpc, kUnix, true));
  Result grpc = Grpc(options, servers, "unary", spec, kUnix, true);
  Result via = RunGrpcCase(options.bin, "unary",
                           At(spec, *gateway, kUnix, /*with_pid=*/false));
  const std::string name = "gateway hop, unary 64 B unix";
  if (!via.ok) {
    std::fprintf(stderr, "bench: %s failed\n", name.c_str());
    return;
  }
  report->Add(
      Plain(name + " p50", "us", via.p50_us, grpc.p50_us, "gRPC direct"));
  report->Add(Plain(name + " p50 vs sockrpc", "us", via.p50_us, direct.p50_us,
                    "sockrpc direct"));
  report->Add(
      Plain(name + " rate", "calls/s", via.rate(), grpc.rate(), "gRPC direct"));
}

}  // namespace bench
}  // namespace sockrpc
