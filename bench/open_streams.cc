// The open-streams group of the table (suite.h), for the issue
// "Event-driven core": 10,000 and then 100,000 server-streaming calls open
// on one bench_server, served by the callback API (events_service.h) and
// held over raw frames (wire_load.h), and an event published to all.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench.sockrpc.pb.h"
#include "client/channel.h"
#include "events_client.h"
#include "measure.h"
#include "suite.h"
#include "wire_load.h"

namespace sockrpc {
namespace bench {
namespace {

// The subscribers' connections: 1,000 calls each at 100k, which is
// ServerOptions::max_calls_per_connection's default.
constexpr int kSubscriberConnections = 100;
// Events published per stage; the row has their median.
constexpr int kPublishes = 3;
// The unary calls beside the open streams alternate between the two
// servers in turns of this long.
constexpr int64_t kTurnNs = 50'000'000;

// EventsClient: connections to a bench_server's Events: connection 0 of
// `load` publishes, 1..kSubscriberConnections subscribe; `stub` asks for
// Stats.
struct EventsClient {
  explicit EventsClient(std::string address)
      : address(address), load(address) {}
  std::string address;
  WireLoad load;
  std::unique_ptr<Events::Stub> stub;
};

// Connects, and serves one call on each connection; null on failure.
std::unique_ptr<EventsClient> ConnectEvents(const std::string& address) {
  auto client = std::make_unique<EventsClient>(address);
  client->stub = EventsStub(address);
  if (client->stub == nullptr ||
      !client->load.Open(1 + kSubscriberConnections) || !WarmUp(client->load)) {
    return nullptr;
  }
  return client;
}

// Opens `count` more Subscribe calls, spread over the subscriber
// connections, and waits until the server counts `total` open.
bool Subscribe(EventsClient& client, int count, int total) {
  SubscribeRequest request;
  for (int k = 0; k < count; ++k) {
    client.load.StartCall(1 + k % kSubscriberConnections, kSubscribeMethod,
                          request);
  }
  StatsReply stats;
  if (client.load.Flush(kEventsTimeoutSeconds) &&
      AwaitStats(
          *client.stub, "",
          [&](const StatsReply& r) {
            return r.subscribers() >= static_cast<uint32_t>(total);
          },
          kEventsTimeoutSeconds, &stats)) {
    return true;
  }
  std::fprintf(stderr, "bench: %u subscriptions open of %d (%s)\n",
               stats.subscribers(), total, FirstError(client.load).c_str());
  return false;
}

// Publish: what one event cost.
struct PublishSample {
  double to_last_ms = 0;     // until the last subscriber had it
  double reply_ms = 0;       // until Publish's own STATUS
  double server_cpu_ms = 0;  // in 10 ms ticks
  double client_cpu_ms = 0;
};

// Publishes a 64 B event to the `subscribers` open calls and waits until
// each has it. `server` (0: unknown) is for its CPU time.
bool PublishOnce(EventsClient& client, int subscribers, pid_t server,
                 PublishSample* sample) {
  WireLoad& load = client.load;
  auto received = [&] {
    return load.total_messages() - load.counts(0).messages;
  };
  Event event;
  event.set_body(std::string(64, 'e'));
  const int64_t want = received() + subscribers;
  const int64_t replies = load.counts(0).statuses + 1;
  int64_t reply_at = 0;
  const int64_t server_cpu = server > 0 ? ChildCpuNs(server) : 0;
  const int64_t client_cpu = SelfCpuNs();
  const int64_t start = NowNs();
  load.StartCall(0, kPublishMethod, event);
  auto replied = [&] {
    if (reply_at == 0 && load.counts(0).statuses >= replies) {
      reply_at = NowNs();
    }
    return reply_at != 0;
  };
  if (!load.Pump(
          [&] {
            replied();
            return received() >= want;
          },
          kEventsTimeoutSeconds)) {
    std::fprintf(stderr, "bench: publish to %d: %lld of them got it (%s)\n",
                 subscribers,
                 static_cast<long long>(received() - want + subscribers),
                 FirstError(load).c_str());
    return false;
  }
  sample->to_last_ms = (NowNs() - start) / 1e6;
  sample->client_cpu_ms = (SelfCpuNs() - client_cpu) / 1e6;
  sample->server_cpu_ms =
      server > 0 ? (ChildCpuNs(server) - server_cpu) / 1e6 : 0;
  if (!load.Pump(replied, kEventsTimeoutSeconds)) return false;
  sample->reply_ms = (reply_at - start) / 1e6;
  return true;
}

// Unary 64 B Echo calls, one at a time, on the servers at `quiet` and
// `loaded` in turns of kTurnNs, for `seconds` each after a warm-up: so
// that whatever else the machine runs meanwhile weighs on both alike.
bool InterleavedUnary(const std::string& quiet, const std::string& loaded,
                      double seconds, Latencies* on_quiet,
                      Latencies* on_loaded) {
  std::unique_ptr<Bench::Stub> stubs[2];
  Latencies* latencies[2] = {on_quiet, on_loaded};
  const std::string* addresses[2] = {&quiet, &loaded};
  for (int side = 0; side < 2; ++side) {
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannel(*addresses[side]);
    if (!channel.ok()) return false;
    stubs[side] = std::make_unique<Bench::Stub>(*channel);
  }
  Payload request;
  request.set_body(std::string(64, 'x'));
  const int64_t warmup_ns = 100'000'000;
  const int64_t each_ns = static_cast<int64_t>(seconds * 1e9);
  int64_t spent[2] = {-warmup_ns, -warmup_ns};
  while (spent[0] < each_ns || spent[1] < each_ns) {
    for (int side = 0; side < 2; ++side) {
      const int64_t turn = NowNs();
      while (NowNs() - turn < kTurnNs) {
        const int64_t start = NowNs();
        absl::StatusOr<Payload> reply = stubs[side]->Echo(request);
        if (!reply.ok()) {
          std::fprintf(stderr, "bench: Echo: %s\n",
                       reply.status().ToString().c_str());
          return false;
        }
        if (spent[side] >= 0) latencies[side]->Add(NowNs() - start);
      }
      spent[side] += NowNs() - turn;
    }
  }
  return true;
}

// One stage: `stage` Subscribe calls open on `loaded`, `opened` of them
// before. False if the server did not keep up (the rows are left out).
bool OpenStage(const Options& options, const ChildServer& server,
               EventsClient& loaded, const EventsClient& quiet, int stage,
               int opened, int64_t rss_base, Report* report) {
  const pid_t pid = server.pid();
  const int64_t open_start = NowNs();
  if (!Subscribe(loaded, stage - opened, stage)) return false;
  const double open_seconds = (NowNs() - open_start) / 1e9;
  std::vector<int> threads = {ThreadCount(pid)};
  ::usleep(200'000);  // let the server's allocations settle
  const int64_t rss = RssBytes(pid);

  std::vector<double> to_last, reply, server_cpu, client_cpu;
  for (int p = 0; p < kPublishes; ++p) {
    PublishSample sample;
    if (!PublishOnce(loaded, stage, pid, &sample)) return false;
    to_last.push_back(sample.to_last_ms);
    reply.push_back(sample.reply_ms);
    server_cpu.push_back(sample.server_cpu_ms);
    client_cpu.push_back(sample.client_cpu_ms);
    threads.push_back(ThreadCount(pid));
  }
  const int64_t rss_published = RssBytes(pid);
  Latencies none_open, open;
  const bool unary = InterleavedUnary(quiet.address, loaded.address,
                                      options.seconds, &none_open, &open);
  threads.push_back(ThreadCount(pid));

  std::printf(
      "  (%d streams: opened in %.2f s; publish to last %s ms, Publish's "
      "reply after %s ms, server CPU %s ms, client CPU %s ms; threads %s; "
      "VmRSS %.1f MB, %.1f MB over the connections alone, %.2f KiB/call "
      "after the publishes; unary 64 B p50 %.1f us, none open %.1f us)\n",
      stage, open_seconds, Join(to_last).c_str(), Join(reply).c_str(),
      Join(server_cpu).c_str(), Join(client_cpu).c_str(),
      absl::StrJoin(threads, ", ").c_str(), rss / 1e6, (rss - rss_base) / 1e6,
      (rss_published - rss_base) / 1024.0 / stage, open.Percentile(0.5) / 1e3,
      none_open.Percentile(0.5) / 1e3);
  const std::string name = absl::StrFormat("%dk open streams", stage / 1000);
  report->Add(Within(name + ": server threads", "threads",
                     *std::max_element(threads.begin(), threads.end()), 8,
                     "<= 8"));
  report->Add(Within(name + ": memory/call", "KiB",
                     (rss - rss_base) / 1024.0 / stage, 1.0, "<= 1 KiB"));
  std::sort(to_last.begin(), to_last.end());
  const double publish_limit = stage <= 10'000 ? 50 : 500;
  report->Add(Within(name + ": publish to last", "ms",
                     to_last[to_last.size() / 2], publish_limit,
                     absl::StrFormat("<= %.0f ms", publish_limit)));
  if (unary) {
    report->Add(AtMost(name + ": unary 64 B p99", "us",
                       open.Percentile(0.99) / 1e3,
                       none_open.Percentile(0.99) / 1e3, "none open", 2.0));
  }
  return true;
}

}  // namespace

void OpenStreamRows(const Options& options, const std::string& dir,
                    Report* report) {
  // `server` gets the streams; `reference`, the same connections and
  // none, is the unary calls' baseline.
  const std::string address = "unix:" + dir + "/events.sock";
  const std::string reference_address = "unix:" + dir + "/reference.sock";
  std::unique_ptr<ChildServer> server =
      ChildServer::Start({options.bin + "/bench_server", "--listen", address});
  std::unique_ptr<ChildServer> reference = ChildServer::Start(
      {options.bin + "/bench_server", "--listen", reference_address});
  if (server == nullptr || reference == nullptr) return;
  std::unique_ptr<EventsClient> loaded = ConnectEvents(address);
  std::unique_ptr<EventsClient> quiet = ConnectEvents(reference_address);
  if (loaded == nullptr || quiet == nullptr) return;
  ::usleep(200'000);
  const int64_t rss_base = RssBytes(server->pid());
  int opened = 0;
  for (int stage : {10'000, 100'000}) {
    if (!OpenStage(options, *server, *loaded, *quiet, stage, opened, rss_base,
                   report)) {
      return;
    }
    opened = stage;
  }
}

bool PublishToOpenStreams(const std::string& address, int streams,
                          int publishes) {
  std::unique_ptr<EventsClient> client = ConnectEvents(address);
  if (client == nullptr || !Subscribe(*client, streams, streams)) return false;
  for (int p = 0; p < publishes; ++p) {
    PublishSample sample;
    if (!PublishOnce(*client, streams, 0, &sample)) return false;
    std::printf("publish to %d: last after %.1f ms, reply after %.1f ms\n",
                streams, sample.to_last_ms, sample.reply_ms);
  }
  return true;
}

}  // namespace bench
}  // namespace sockrpc
