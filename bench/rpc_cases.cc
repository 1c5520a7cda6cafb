// Our stack's loops (see cases.h): the generated Bench stub over a Channel.
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench.sockrpc.pb.h"
#include "cases.h"
#include "client/channel.h"

namespace sockrpc {
namespace bench {

std::shared_ptr<Channel> ConnectCase(const CaseSpec& spec) {
  ChannelOptions options;
  options.batch_call_starts = spec.batch;
  if (!spec.tls_ca.empty()) {
    options.tls.emplace();
    options.tls->ca_file = spec.tls_ca;
    options.tls->server_name = kBenchTlsName;
  }
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(spec.address, options);
  if (!channel.ok()) {
    std::fprintf(stderr, "bench: %s\n", channel.status().ToString().c_str());
    return nullptr;
  }
  return *channel;
}

namespace {

void Report(const absl::Status& status) {
  std::fprintf(stderr, "bench: call failed: %s\n", status.ToString().c_str());
}

// Keeps spec.in_flight calls outstanding on one connection, collected
// oldest first; after each reply, `another()` says whether to start one
// more in its place.
template <typename Another>
bool KeepInFlight(const CaseSpec& spec, Another another) {
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return false;
  Bench::Stub stub(channel);
  Payload request;
  request.set_body(std::string(spec.size, 'x'));
  std::deque<UnaryFuture<Payload>> pending;
  for (int i = 0; i < spec.in_flight; ++i) {
    pending.push_back(stub.AsyncEcho(request));
  }
  while (!pending.empty()) {
    absl::StatusOr<Payload> reply = pending.front().Get();
    pending.pop_front();
    if (!reply.ok()) {
      Report(reply.status());
      return false;
    }
    if (another()) pending.push_back(stub.AsyncEcho(request));
  }
  return true;
}

// KeepInFlight until the window closes, counting the replies within it.
bool InFlightOne(const CaseSpec& spec, Window* window, int64_t* calls) {
  bool more = true;
  return KeepInFlight(spec, [&] {
    if (more && window->Measuring()) ++*calls;
    if (more) more = window->Continue();
    return more;
  });
}

}  // namespace

Result RpcUnary(const CaseSpec& spec) {
  Result result;
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return result;
  Bench::Stub stub(channel);
  Payload request;
  request.set_body(std::string(spec.size, 'x'));
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds, spec.server);
  bool ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    absl::StatusOr<Payload> reply = stub.Echo(request);
    if (!reply.ok() || reply->body().size() != spec.size) {
      Report(reply.status());
      ok = false;
      break;
    }
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  result.ok = ok;
  result.calls = static_cast<int64_t>(latencies.count());
  result.seconds = window.seconds();
  result.p50_us = latencies.Percentile(0.5) / 1e3;
  result.p99_us = latencies.Percentile(0.99) / 1e3;
  if (result.calls > 0) {
    result.cpu_us_per_call = window.cpu_ns() / 1e3 / result.calls;
  }
  return result;
}

bool RpcUnaryCalls(const CaseSpec& spec, long calls) {
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return false;
  Bench::Stub stub(channel);
  Payload request;
  request.set_body(std::string(spec.size, 'x'));
  for (long i = 0; i < calls; ++i) {
    absl::StatusOr<Payload> reply = stub.Echo(request);
    if (!reply.ok()) {
      Report(reply.status());
      return false;
    }
  }
  return true;
}

bool RpcInFlightCalls(const CaseSpec& spec, long calls) {
  long started = spec.in_flight;
  return KeepInFlight(spec, [&] { return started++ < calls; });
}

Result RpcInFlight(const CaseSpec& spec) {
  return RunOnEachConnection(spec, InFlightOne);
}

Result RpcStream(const CaseSpec& spec) {
  Result result;
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return result;
  Bench::Stub stub(channel);
  StreamRequest request;
  request.set_count(50000);
  request.set_size(static_cast<uint32_t>(spec.size));
  request.set_buffer_hint(spec.buffer_hint);
  Window window(spec.warmup_seconds, spec.seconds);
  bool ok = true;
  while (ok && window.Continue()) {
    ClientReader<Payload> reader = stub.Stream(request);
    Payload message;
    int64_t received = 0;
    while (reader.Read(&message)) ++received;
    absl::Status status = reader.Finish();
    if (!status.ok() || received != request.count()) {
      Report(status);
      ok = false;
    }
    if (window.Measuring()) result.calls += received;
  }
  result.ok = ok;
  result.seconds = window.seconds();
  return result;
}

bool RpcStreamMessages(const CaseSpec& spec, long messages) {
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return false;
  Bench::Stub stub(channel);
  StreamRequest request;
  request.set_count(static_cast<uint32_t>(messages));
  request.set_size(static_cast<uint32_t>(spec.size));
  request.set_buffer_hint(spec.buffer_hint);
  const int64_t start = NowNs();
  ClientReader<Payload> reader = stub.Stream(request);
  Payload message;
  long received = 0;
  while (reader.Read(&message)) ++received;
  absl::Status status = reader.Finish();
  const double seconds = (NowNs() - start) / 1e9;
  if (!status.ok() || received != messages) {
    Report(status);
    return false;
  }
  std::printf("%ld messages in %.3f s: %.0f msgs/s\n", received, seconds,
              received / seconds);
  return true;
}

Result RpcConnect(const CaseSpec& spec) {
  Result result;
  Payload request;
  request.set_body("x");
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds);
  bool ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    std::shared_ptr<Channel> channel = ConnectCase(spec);
    if (channel == nullptr) {
      ok = false;
      break;
    }
    Bench::Stub stub(channel);
    absl::StatusOr<Payload> reply = stub.Echo(request);
    if (!reply.ok()) {
      Report(reply.status());
      ok = false;
      break;
    }
    channel.reset();  // closes the connection, inside the timed part
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  result.ok = ok;
  result.calls = static_cast<int64_t>(latencies.count());
  result.seconds = window.seconds();
  result.p50_us = latencies.Percentile(0.5) / 1e3;
  result.p99_us = latencies.Percentile(0.99) / 1e3;
  return result;
}

}  // namespace bench
}  // namespace sockrpc
