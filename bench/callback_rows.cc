// The callback API against the blocking API (issue 19: "at least as fast
// on every row"): the same cases against two bench_servers side by side,
// one serving Bench with blocking handlers and one through the callback
// API (--callback), in alternating rounds; each figure is the median of
// its side's rounds. The blocking side is driven as the other rows drive
// it (blocking calls, futures in flight); the callback side by the
// client's callback API, each call started from the `done` of the one
// before (callback_cases.cc), so that neither side's client waits in a
// thread for a reply it could take on the event loop.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cases.h"
#include "suite.h"

namespace sockrpc {
namespace bench {
namespace {

constexpr int kRounds = 3;
// "At least as fast": what this VM's alternating rounds of the same code
// differ by (the stats rows' 3%) is the tolerance.
constexpr double kMaxSlower = 1.03;

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// One case's figure on each side, by round.
struct Sides {
  std::vector<double> blocking;
  std::vector<double> callback;
};

}  // namespace

void CallbackApiRows(const Options& options, const std::string& dir,
                     Report* report) {
  std::unique_ptr<ChildServer> blocking =
      ChildServer::Start({options.bin + "/bench_server", "--listen",
                          "unix:" + dir + "/blocking-api.sock"});
  std::unique_ptr<ChildServer> callback =
      ChildServer::Start({options.bin + "/bench_server", "--listen",
                          "unix:" + dir + "/callback-api.sock", "--callback"});
  if (blocking == nullptr || callback == nullptr) {
    std::fprintf(stderr, "bench: the callback API's servers did not start\n");
    return;
  }
  // A case's spec against `server`.
  auto spec_for = [&options](const ChildServer& server) {
    CaseSpec spec;
    spec.seconds = options.seconds;
    spec.address = server.addresses()[kUnix];
    spec.server = server.pid();
    return spec;
  };
  // One round of a rate case: `spec` against the blocking server, driven
  // by `run_blocking`, then against the callback server by `run_callback`.
  auto rates = [&](const char* what, CaseSpec spec, auto run_blocking,
                   auto run_callback, Sides* sides) {
    spec.server = 0;
    spec.address = blocking->addresses()[kUnix];
    const Result b = run_blocking(spec);
    spec.address = callback->addresses()[kUnix];
    const Result c = run_callback(spec);
    if (!b.ok || !c.ok) {
      std::fprintf(stderr, "bench: callback API: %s failed\n", what);
      return false;
    }
    sides->blocking.push_back(b.rate());
    sides->callback.push_back(c.rate());
    return true;
  };
  Sides unary_p50, unary_cpu, stream_rate;
  Sides in_flight_rate[2];
  const int in_flight_depths[2] = {8, 64};
  for (int round = 0; round < kRounds; ++round) {
    // Unary, one call at a time.
    Result ours_blocking = RpcUnary(spec_for(*blocking));
    Result ours_callback = RpcCallbackCalls(spec_for(*callback));
    if (!ours_blocking.ok || !ours_callback.ok) {
      std::fprintf(stderr, "bench: callback API: unary failed\n");
      return;
    }
    unary_p50.blocking.push_back(ours_blocking.p50_us);
    unary_p50.callback.push_back(ours_callback.p50_us);
    unary_cpu.blocking.push_back(ours_blocking.cpu_us_per_call);
    unary_cpu.callback.push_back(ours_callback.cpu_us_per_call);
    // In flight on one connection, batching call starts as the in-flight
    // rows do.
    for (int i = 0; i < 2; ++i) {
      CaseSpec in_flight = spec_for(*blocking);
      in_flight.in_flight = in_flight_depths[i];
      in_flight.batch = true;
      if (!rates("in flight", in_flight, RpcInFlight, RpcCallbackCalls,
                 &in_flight_rate[i])) {
        return;
      }
    }
    // Server streaming with the buffer hint: the server's side only (the
    // client reads the stream as the streaming rows do).
    CaseSpec stream = spec_for(*blocking);
    stream.buffer_hint = true;
    if (!rates("streaming", stream, RpcStream, RpcStream, &stream_rate)) {
      return;
    }
  }
  const std::string base = "blocking API";
  report->Add(AtMost("unary 64 B unix, callback API p50", "us",
                     Median(unary_p50.callback), Median(unary_p50.blocking),
                     base, kMaxSlower));
  report->Add(AtMost("unary 64 B unix, callback API CPU/call", "us",
                     Median(unary_cpu.callback), Median(unary_cpu.blocking),
                     base, kMaxSlower));
  for (int i = 0; i < 2; ++i) {
    report->Add(AtLeast("64 B, " + std::to_string(in_flight_depths[i]) +
                            " in flight x 1 conn unix, callback API",
                        "calls/s", Median(in_flight_rate[i].callback),
                        Median(in_flight_rate[i].blocking), base,
                        1 / kMaxSlower));
  }
  report->Add(AtLeast("server streaming 64 B unix, buffer hint, callback API",
                      "msgs/s", Median(stream_rate.callback),
                      Median(stream_rate.blocking), base, 1 / kMaxSlower));
}

}  // namespace bench
}  // namespace sockrpc
