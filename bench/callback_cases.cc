// Our stack's loops through the client's callback API (see cases.h): each
// call's `done` runs on the channel's event loop and starts the next call
// there, so no thread waits for a reply; the calling thread only waits for
// the end of the window.
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "bench.sockrpc.pb.h"
#include "cases.h"
#include "client/channel.h"
#include "transport/sync.h"

namespace sockrpc {
namespace bench {
namespace {

// spec.in_flight chains of calls on one connection. A chain's call, once
// done, starts its next until the window closes; the last chain to stop
// ends the run. The callbacks run on the event loop, but the first calls
// start on the caller's thread while earlier ones may already be done:
// mu_ guards what they share. Calls start outside it (a call the loop
// cannot take ends, with its `done`, on the thread that started it).
class CallChains {
 public:
  CallChains(const CaseSpec& spec, std::shared_ptr<Channel> channel)
      : spec_(spec),
        window_(spec.warmup_seconds, spec.seconds, spec.server),
        chains_(static_cast<size_t>(spec.in_flight)),
        stub_(std::make_unique<Bench::Stub>(std::move(channel))) {
    request_.set_body(std::string(spec.size, 'x'));
  }

  // Runs the chains until the window closes; false if a call failed.
  bool Run() {
    std::future<void> finished = finished_.get_future();
    {
      MutexLock lock(&mu_);
      running_ = static_cast<int>(chains_.size());
      if (!window_.Continue()) return true;
    }
    for (Chain& chain : chains_) Start(&chain);
    finished.wait();
    MutexLock lock(&mu_);
    return ok_;
  }

  Result result() {
    MutexLock lock(&mu_);
    Result result;
    result.ok = ok_;
    result.calls = calls_;
    result.seconds = window_.seconds();
    result.p50_us = latencies_.Percentile(0.5) / 1e3;
    result.p99_us = latencies_.Percentile(0.99) / 1e3;
    if (calls_ > 0) result.cpu_us_per_call = window_.cpu_ns() / 1e3 / calls_;
    return result;
  }

 private:
  struct Chain {
    CallChains* chains = nullptr;
    Payload reply;
    int64_t start_ns = 0;
  };

  // (A chain's own fields are its calls' alone: one at a time.)
  void Start(Chain* chain) ABSL_LOCKS_EXCLUDED(mu_) {
    chain->chains = this;
    if (timed_) chain->start_ns = NowNs();
    // One pointer captured: std::function keeps it without allocating.
    stub_->async()->Echo(
        nullptr, &request_, &chain->reply,
        [chain](absl::Status status) { chain->chains->Done(chain, status); });
  }

  void Done(Chain* chain, const absl::Status& status) {
    {
      MutexLock lock(&mu_);
      if (!status.ok() || chain->reply.body().size() != spec_.size) {
        std::fprintf(stderr, "bench: call failed: %s\n",
                     status.ToString().c_str());
        ok_ = false;
        stopping_ = true;
      } else if (!stopping_ && window_.Measuring()) {
        // (Not once the window closed: its seconds and CPU are final.)
        if (timed_) latencies_.Add(NowNs() - chain->start_ns);
        ++calls_;
      }
      if (!stopping_ && !window_.Continue()) stopping_ = true;
      if (stopping_) {
        if (--running_ == 0) finished_.set_value();
        return;
      }
    }
    Start(chain);
  }

  const CaseSpec spec_;
  // Each call's latency is measured only for a lone chain (the p50 rows);
  // with more in flight only the rate counts, and the blocking side's
  // in-flight loop (rpc_cases.cc) reads no clock per call either.
  const bool timed_ = spec_.in_flight == 1;
  Payload request_;  // serialized by each call's start
  std::promise<void> finished_;
  Mutex mu_;
  Window window_ ABSL_GUARDED_BY(mu_);
  std::vector<Chain> chains_;
  Latencies latencies_ ABSL_GUARDED_BY(mu_);
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ok_ ABSL_GUARDED_BY(mu_) = true;
  // Destroyed first: the channel (if the stub holds the last reference)
  // stops its event loop, so no callback still runs when the rest goes.
  std::unique_ptr<Bench::Stub> stub_;
};

}  // namespace

Result RpcCallbackCalls(const CaseSpec& spec) {
  std::shared_ptr<Channel> channel = ConnectCase(spec);
  if (channel == nullptr) return Result();
  CallChains chains(spec, std::move(channel));
  chains.Run();
  return chains.result();
}

}  // namespace bench
}  // namespace sockrpc
