#include "tools/cli/bench_run.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <system_error>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_call.h"
#include "google/protobuf/empty.pb.h"
#include "transport/fd.h"
#include "transport/poller.h"
#include "transport/status_macros.h"
#include "transport/sync.h"

namespace sockrpc {
namespace cli {
namespace {

using Clock = std::chrono::steady_clock;

// EncodedRequest returns request bytes as a message the client library
// can send, without encoding them again per call: parsed into an Empty,
// every field of `bytes` is an unknown field, and protobuf writes unknown
// fields back out as they came.
google::protobuf::Empty EncodedRequest(const std::string& bytes) {
  google::protobuf::Empty request;
  (void)request.ParseFromString(bytes);  // bytes protobuf itself encoded
  return request;
}

// Makes one call of `plan` with `request`, reading the replies into
// `*reply`; adds the replies received to `*messages`.
absl::Status CallOnce(const LoadPlan& plan, Channel& channel,
                      ClientContext* context,
                      const google::protobuf::MessageLite& request,
                      google::protobuf::Message* reply, uint64_t* messages) {
  if (!plan.server_streaming) {
    absl::Status status =
        channel.CallUnary(context, plan.method, request, reply);
    if (status.ok()) ++*messages;
    return status;
  }
  std::unique_ptr<ClientCall> call =
      channel.StartCall(context, plan.method, &request);
  while (call->Read(reply)) ++*messages;
  return call->Finish();
}

// One worker: its thread's measurements and the call it has in flight,
// which the run's thread cancels when the run stops early.
struct Worker {
  Mutex mu;
  ClientContext* in_flight ABSL_GUARDED_BY(mu) = nullptr;
  bool stopped ABSL_GUARDED_BY(mu) = false;

  // Written by the worker's thread only, read after it is joined.
  BenchResult result;
  int64_t last_end = 0;  // nanoseconds from the start, of its last call
};

// What the workers of one run share.
struct RunState {
  const LoadPlan* plan = nullptr;
  Clock::time_point start;
  absl::Time start_time;             // the same instant, for --rps pacing
  std::atomic<uint64_t> claimed{0};  // calls started, for --total, --rps
  std::atomic<int> running{0};       // workers not yet finished
  Fd all_done;                       // eventfd, signalled by the last one
};

int64_t NanosSince(Clock::time_point start, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now - start)
      .count();
}

void RunWorker(RunState* run, Worker* worker, Channel* channel) {
  const LoadPlan& plan = *run->plan;
  const google::protobuf::Empty request = EncodedRequest(plan.request);
  std::unique_ptr<google::protobuf::Message> reply(plan.reply_type->New());
  const bool numbered = plan.total.has_value() || plan.rps.has_value();
  for (;;) {
    const uint64_t number =
        numbered ? run->claimed.fetch_add(1, std::memory_order_relaxed) : 0;
    if (plan.total.has_value() && number >= *plan.total) break;
    ClientContext context;
    plan.settings->Apply(&context);
    {
      MutexLock lock(&worker->mu);
      if (plan.rps.has_value()) {
        // Wait until this call is due (or the run stops).
        const absl::Time due =
            run->start_time + absl::Seconds(1) * static_cast<double>(number) /
                                  static_cast<double>(*plan.rps);
        worker->mu.AwaitWithDeadline(
            [worker]()
                ABSL_NO_THREAD_SAFETY_ANALYSIS { return worker->stopped; },
            due);
      }
      if (worker->stopped) break;
      worker->in_flight = &context;
    }
    uint64_t messages = 0;
    const Clock::time_point started = Clock::now();
    absl::Status status =
        CallOnce(plan, *channel, &context, request, reply.get(), &messages);
    const Clock::time_point ended = Clock::now();
    {
      MutexLock lock(&worker->mu);
      worker->in_flight = nullptr;
      if (worker->stopped) break;  // ended after the run stopped
    }
    worker->last_end = NanosSince(run->start, ended);
    worker->result.latencies.Record(NanosSince(started, ended));
    worker->result.statuses.Record(status, worker->last_end);
    worker->result.messages += messages;
  }
  if (run->running.fetch_sub(1) == 1) SignalEventFd(run->all_done.get());
}

// Stops every worker: no new calls, and the call in flight cancelled.
void StopWorkers(std::vector<std::unique_ptr<Worker>>& workers) {
  for (auto& worker : workers) {
    MutexLock lock(&worker->mu);
    worker->stopped = true;
    if (worker->in_flight != nullptr) worker->in_flight->TryCancel();
  }
}

// Waits until the workers are all done (kTotal), `deadline` passes
// (kDuration) or a stop signal arrives on `signal_fd` (kSignal).
StopReason WaitForStop(int all_done_fd, int signal_fd, absl::Time deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return StopReason::kDuration;
      timeout_ms = static_cast<int>(std::min<int64_t>(
          INT_MAX,
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)))));
    }
    pollfd fds[2] = {{all_done_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    int ready = poll(fds, 2, timeout_ms);
    // poll() fails only for want of memory; end the run rather than spin.
    if (ready < 0 && errno != EINTR) return StopReason::kSignal;
    if (ready <= 0) continue;
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      ssize_t got = read(signal_fd, &info, sizeof(info));
      (void)got;  // the signal is taken either way; which one is no matter
      return StopReason::kSignal;
    }
    if (fds[0].revents != 0) return StopReason::kTotal;
  }
}

}  // namespace

absl::Status Connect(const LoadPlan& plan) {
  const google::protobuf::Empty request;
  google::protobuf::Empty reply;
  for (const std::shared_ptr<Channel>& channel : plan.channels) {
    ClientContext context;
    plan.settings->Apply(&context);
    absl::Status status =
        channel->CallUnary(&context, kProbeMethod, request, &reply);
    if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> RunLoad(const LoadPlan& plan,
                                    const StopSignals& signals) {
  RunState run;
  run.plan = &plan;
  SOCKRPC_ASSIGN_OR_RETURN(run.all_done, MakeEventFd(/*semaphore=*/false));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < plan.concurrency; ++i) {
    workers.push_back(std::make_unique<Worker>());
  }
  run.running = plan.concurrency;

  const absl::Time deadline = plan.duration.has_value()
                                  ? absl::Now() + *plan.duration
                                  : absl::InfiniteFuture();
  run.start = Clock::now();
  run.start_time = absl::Now();
  std::vector<std::thread> threads;
  absl::Status started = absl::OkStatus();
  for (int i = 0; i < plan.concurrency; ++i) {
    Channel* channel = plan.channels[i % plan.channels.size()].get();
    try {
      threads.emplace_back(RunWorker, &run, workers[i].get(), channel);
    } catch (const std::system_error& error) {
      started = absl::ResourceExhaustedError(
          absl::StrCat("cannot start worker thread ", i + 1, " of ",
                       plan.concurrency, ": ", error.what()));
      break;
    }
  }

  StopReason reason = StopReason::kSignal;
  if (started.ok()) {
    reason = WaitForStop(run.all_done.get(), signals.fd(), deadline);
  }
  const Clock::time_point stopped_at = Clock::now();
  if (reason != StopReason::kTotal) StopWorkers(workers);
  for (std::thread& thread : threads) thread.join();
  if (!started.ok()) return started;

  BenchResult result;
  int64_t last_end = 0;
  for (const auto& worker : workers) {
    result.Merge(worker->result);
    last_end = std::max(last_end, worker->last_end);
  }
  result.stopped_by = reason;
  result.elapsed = absl::Nanoseconds(reason == StopReason::kTotal
                                         ? last_end
                                         : NanosSince(run.start, stopped_at));
  return result;
}

}  // namespace cli
}  // namespace sockrpc
