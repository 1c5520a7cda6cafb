// The full-pool group of the table (suite.h), for the issue "Event-driven
// core": with every handler-pool thread of a bench_server blocked and
// 1,000 blocking calls queued behind them, what must still be served at
// once: a callback call, a PING, a CANCEL of a queued call, a client's
// disconnect. The load is raw frames (wire_load.h) of events.proto's
// Block (events_service.h).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/client_context.h"
#include "events_client.h"
#include "measure.h"
#include "suite.h"
#include "wire_load.h"

namespace sockrpc {
namespace bench {
namespace {

// The pool's size, the calls queued behind it, and how many samples of
// each latency.
constexpr int kPoolThreads = 4;
constexpr int kVictimQueued = 100;
constexpr int kHogQueued = 500;
constexpr int kSecondHogQueued = 400;  // kVictimQueued + these two: 1000
constexpr int kCancels = 20;
constexpr int kSamples = 300;
// The target of each latency.
constexpr double kPoolTargetUs = 1000;

// Stats calls one after another: the latency of a callback method.
Latencies CallbackLatencies(Events::Stub& stub) {
  Latencies latencies;
  for (int k = 0; k < kSamples; ++k) {
    const int64_t start = NowNs();
    if (!GetStats(stub).ok()) break;
    latencies.Add(NowNs() - start);
  }
  return latencies;
}

// PING, then wait for its ACK, on connection `i`, one at a time.
Latencies PingLatencies(WireLoad& load, int i) {
  Latencies latencies;
  for (int k = 0; k < kSamples; ++k) {
    const int64_t acks = load.counts(i).ping_acks;
    const int64_t start = NowNs();
    load.Ping(i);
    if (!load.Pump([&] { return load.counts(i).ping_acks > acks; }, 5)) break;
    latencies.Add(NowNs() - start);
  }
  return latencies;
}

// The connections of the full pool: the victim holds 2 of the pool's
// threads and kVictimQueued queued calls, then disconnects; the hogs hold
// the rest; PINGs go on a connection of their own.
enum { kVictim = 0, kHog = 1, kSecondHog = 2, kPinger = 3 };

// Queues `count` Block calls tagged `tag` on connection `i` of `load`;
// returns their stream ids.
std::vector<uint32_t> StartBlocking(WireLoad& load, int i,
                                    const std::string& tag, int count) {
  BlockRequest request;
  request.set_tag(tag);
  std::vector<uint32_t> streams;
  for (int k = 0; k < count; ++k) {
    streams.push_back(load.StartCall(i, kBlockMethod, request));
  }
  return streams;
}

// Fills the pool: the victim's 2 calls, then the hog's, run; then 1,000
// queue, the victim's first, and kCancels of them (in *cancelled) to be
// cancelled. Returns once the server has read every one (a PING behind
// each connection's calls has come back). False (message on stderr) if
// the pool did not fill as planned.
bool FillPool(WireLoad& load, Events::Stub& stub,
              std::vector<uint32_t>* cancelled) {
  StatsReply stats;
  auto running = [](uint32_t n) {
    return [n](const StatsReply& r) { return r.blocked_running() >= n; };
  };
  StartBlocking(load, kVictim, "victim", 2);
  bool filled = load.Flush(kEventsTimeoutSeconds) &&
                AwaitStats(stub, "", running(2), kEventsTimeoutSeconds, &stats);
  StartBlocking(load, kHog, "hog", kPoolThreads - 2);
  filled = filled && load.Flush(kEventsTimeoutSeconds) &&
           AwaitStats(stub, "", running(kPoolThreads), kEventsTimeoutSeconds,
                      &stats);
  StartBlocking(load, kVictim, "victim", kVictimQueued);
  StartBlocking(load, kHog, "hog", kHogQueued);
  *cancelled = StartBlocking(load, kSecondHog, "cancelled", kCancels);
  StartBlocking(load, kSecondHog, "hog", kSecondHogQueued - kCancels);
  for (int i : {kVictim, kHog, kSecondHog}) load.Ping(i);
  filled = filled && load.Pump(
                         [&] {
                           return load.counts(kVictim).ping_acks == 1 &&
                                  load.counts(kHog).ping_acks == 1 &&
                                  load.counts(kSecondHog).ping_acks == 1;
                         },
                         kEventsTimeoutSeconds);
  filled = filled && AwaitStats(stub, "", running(kPoolThreads),
                                kEventsTimeoutSeconds, &stats);
  if (filled && stats.blocked_started() == kPoolThreads) return true;
  std::fprintf(stderr,
               "bench: full pool: %u blocking handlers running, %u started, "
               "expected %d (%s)\n",
               stats.blocked_running(), stats.blocked_started(), kPoolThreads,
               FirstError(load).c_str());
  return false;
}

double P99Us(Latencies& latencies) { return latencies.Percentile(0.99) / 1e3; }

}  // namespace

void FullPoolRows(const Options& options, const std::string& dir,
                  Report* report) {
  const std::string address = "unix:" + dir + "/pool.sock";
  std::unique_ptr<ChildServer> server =
      ChildServer::Start({options.bin + "/bench_server", "--listen", address,
                          "--max_threads", std::to_string(kPoolThreads)});
  if (server == nullptr) return;
  WireLoad load(address);
  std::unique_ptr<Events::Stub> stub = EventsStub(address);
  if (stub == nullptr || !load.Open(4) || !WarmUp(load)) return;

  // The pool idle: the baseline column.
  Latencies idle_callback = CallbackLatencies(*stub);
  Latencies idle_ping = PingLatencies(load, kPinger);

  std::vector<uint32_t> cancelled;
  if (!FillPool(load, *stub, &cancelled)) return;

  Latencies full_callback = CallbackLatencies(*stub);
  Latencies full_ping = PingLatencies(load, kPinger);
  // CANCEL of a queued call: the server answers nothing, so a PING right
  // behind it on the same connection marks when it was processed.
  Latencies cancel;
  for (uint32_t stream_id : cancelled) {
    const int64_t acks = load.counts(kSecondHog).ping_acks;
    const int64_t start = NowNs();
    load.Cancel(kSecondHog, stream_id);
    load.Ping(kSecondHog);
    if (!load.Pump([&] { return load.counts(kSecondHog).ping_acks > acks; },
                   5)) {
      break;
    }
    cancel.Add(NowNs() - start);
  }
  // The victim leaves: until both of its handlers have returned.
  const int64_t leave = NowNs();
  load.Close(kVictim);
  StatsReply stats;
  const bool returned = AwaitStats(
      *stub, "victim",
      [](const StatsReply& r) { return r.tag_finished() >= 2; }, 5, &stats);
  const double disconnect_us = (NowNs() - leave) / 1e3;
  // Its queued calls must not start in the slots it left.
  ::usleep(50'000);
  absl::StatusOr<StatsReply> victim = GetStats(*stub, "victim");

  // Release everything; every call not cancelled then ends with a STATUS.
  {
    ClientContext context;
    context.set_timeout(absl::Seconds(5));
    stub->Release(&context, ReleaseRequest()).IgnoreError();
  }
  const bool drained = load.Pump(
      [&] {
        return load.counts(kHog).statuses >= kHogQueued + kPoolThreads - 2 &&
               load.counts(kSecondHog).statuses >= kSecondHogQueued - kCancels;
      },
      kEventsTimeoutSeconds);
  absl::StatusOr<StatsReply> after_cancel = GetStats(*stub, "cancelled");
  std::printf(
      "  (full pool: %d handlers blocked, %d queued; pool idle: callback p50 "
      "%.1f us, PING p50 %.1f us; full: callback p50 %.1f us, PING p50 %.1f "
      "us, CANCEL p50 %.1f us; drained after the release: %s)\n",
      kPoolThreads, kVictimQueued + kHogQueued + kSecondHogQueued,
      idle_callback.Percentile(0.5) / 1e3, idle_ping.Percentile(0.5) / 1e3,
      full_callback.Percentile(0.5) / 1e3, full_ping.Percentile(0.5) / 1e3,
      cancel.Percentile(0.5) / 1e3, drained ? "yes" : "no");

  const std::string target = "<= 1 ms";
  if (full_callback.count() == static_cast<size_t>(kSamples)) {
    report->Add(Within("full pool: callback call p99", "us",
                       P99Us(full_callback), kPoolTargetUs, target,
                       P99Us(idle_callback), "pool idle"));
  }
  if (full_ping.count() == static_cast<size_t>(kSamples)) {
    report->Add(Within("full pool: PING p99", "us", P99Us(full_ping),
                       kPoolTargetUs, target, P99Us(idle_ping), "pool idle"));
  }
  if (cancel.count() == static_cast<size_t>(kCancels)) {
    report->Add(Within("full pool: CANCEL queued, max", "us",
                       cancel.Percentile(1.0) / 1e3, kPoolTargetUs, target));
  }
  if (returned) {
    report->Add(Within("full pool: disconnect", "us", disconnect_us,
                       kPoolTargetUs, target));
  } else {
    std::fprintf(stderr,
                 "bench: full pool: the disconnected client's handlers did not "
                 "return (%u of 2 in 5 s)\n",
                 stats.tag_finished());
  }
  // A call cancelled, or of a client gone, while it waited for a slot
  // must never start its handler.
  if (after_cancel.ok()) {
    report->Add(Within("full pool: cancelled, yet run", "calls",
                       after_cancel->tag_started(), 0, "0"));
  }
  if (victim.ok()) {
    report->Add(Within("full pool: client gone, yet run", "calls",
                       static_cast<double>(victim->tag_started()) - 2, 0, "0"));
  }
}

}  // namespace bench
}  // namespace sockrpc
