// ServerRuntime's threads and their roles: the one poller, the watchdog
// that takes over the polling from a long handler, and parked threads
// (see the threading model in server/server.h and server_runtime.h).
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"

namespace sockrpc {

void ServerRuntime::ThreadMain(Role role) {
  while (role != Role::kStop) {
    if (role == Role::kWatch) {
      role = Watch();
      continue;
    }
    epoll_event event;
    absl::StatusOr<int> count = poller_.Wait(&event, 1, -1);
    if (!count.ok()) {
      Log(count.status().message());
      continue;
    }
    if (*count == 0) continue;
    const uint64_t tag = event.data.u64;
    if (tag == kStopTag) break;
    std::shared_ptr<ServerConnection> connection;
    {
      MutexLock lock(&mu_);
      --pollers_;
      ++busy_;
      if (tag >= kFirstConnectionTag) {
        auto it = connections_.find(tag);
        if (it != connections_.end()) connection = it->second;
      }
    }
    if (tag < kFirstConnectionTag) {
      HandleEvent(tag, event.events);
    } else if (connection != nullptr) {  // else closed meanwhile
      HandleConnectionEvent(connection, event.events);
    }
    connection.reset();
    role = NextRole();
  }
}

ServerRuntime::Role ServerRuntime::NextRole() {
  MutexLock lock(&mu_);
  --busy_;
  if (state_ == State::kStopping) return Role::kStop;
  if (pollers_ < kMaxPollers) {
    ++pollers_;
    return Role::kPoll;
  }
  if (!watchdog_) {
    watchdog_ = true;
    return Role::kWatch;
  }
  // Enough threads poll and watch; more would only spread events over cold
  // threads. Park until a watchdog is needed again.
  ++parked_;
  mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return unparks_ > 0 || state_ == State::kStopping;
  });
  if (state_ == State::kStopping) return Role::kStop;
  --unparks_;  // the one who unparked us set watchdog_ for us
  return Role::kWatch;
}

ServerRuntime::Role ServerRuntime::Watch() {
  MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return state_ == State::kStopping;
  };
  uint64_t last_starts = handler_starts_.load();
  int quiet_ticks = 0;
  for (;;) {
    mu_.AwaitWithDeadline(stopping, absl::Now() + kWatchTick);
    if (stopping()) return Role::kStop;
    const bool no_new_handler = handler_starts_.load() == last_starts;
    const int in_handlers = in_handlers_.load();
    if (no_new_handler && in_handlers > 0) {
      if (pollers_ == 0 && busy_ == in_handlers) {
        break;  // a handler has run a whole tick while nobody polled
      }
      // Another thread polls (it took over from an earlier long handler),
      // but a handler has run a whole tick: a batch it belongs to must not
      // hold back the replies and calls behind it.
      ReleaseBatchesLocked();
    }
    quiet_ticks = no_new_handler && in_handlers == 0 ? quiet_ticks + 1 : 0;
    if (quiet_ticks >= kQuietTicksBeforeSleep) {
      // Idle: sleep without ticking until the next handler starts, and
      // let the memory that busy spell kept warm go; unless one started
      // just now (see watchdog_sleeping_).
      watchdog_sleeping_.store(true);
      if (handler_starts_.load() == last_starts) {
        buffers_.Clear();
        auto woken = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return !watchdog_sleeping_.load() || state_ == State::kStopping;
        };
        mu_.Await(woken);
        if (stopping()) return Role::kStop;
      }
      watchdog_sleeping_.store(false);
      quiet_ticks = 0;
    }
    last_starts = handler_starts_.load();
  }
  // Take over the polling, and find a successor to watch. Replies the
  // blocked thread holds back go out now, and the calls it queued go to
  // whichever threads poll.
  ReleaseBatchesLocked();
  watchdog_ = false;
  ++pollers_;
  if (parked_ > 0) {
    --parked_;
    ++unparks_;
    watchdog_ = true;
  } else if (static_cast<int>(threads_.size()) < options_.max_threads + 2) {
    // max_threads in handlers, one polling, one watching.
    watchdog_ = true;
    threads_.emplace_back(&ServerRuntime::ThreadMain, this, Role::kWatch);
  }
  return Role::kPoll;
}

void ServerRuntime::ReleaseBatchesLocked() {
  for (ServerConnection* connection : corked_) connection->BreakCork();
  if (!tasks_.empty()) SignalEventFd(task_fd_.get(), tasks_.size());
}

void ServerRuntime::BeginHandler() {
  in_handlers_.fetch_add(1);
  handler_starts_.fetch_add(1);
  // The watchdog ticks while handlers run and sleeps when the server is
  // quiet; the first handler after a quiet spell wakes it (one wake-up and
  // one lock per busy spell, not per call).
  if (watchdog_sleeping_.load()) {
    MutexLock lock(&mu_);
    watchdog_sleeping_.store(false);
  }
}

void ServerRuntime::EndHandler() {
  in_handlers_.fetch_sub(1);
  CallFinished();
}

}  // namespace sockrpc
