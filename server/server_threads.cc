// ServerRuntime's threads and their roles (docs/ARCHITECTURE.md,
// "Threading model"):
//
// - the leader: the one thread in epoll_wait; it handles each event it
//   gets itself, handlers included (no hand-off);
// - the watchdog: takes the lead from a leader that stays on one event for
//   a whole tick, so one slow handler delays the others by a tick at most;
// - threads that lost the lead: they finish their event (a handler, say),
//   then watch if nobody does, else park until a watchdog is needed.
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"

namespace sockrpc {

void ServerRuntime::ThreadMain(Role role) {
  while (role != Role::kStop) {
    role = role == Role::kWatch ? Watch() : Lead();
  }
}

ServerRuntime::Role ServerRuntime::Lead() {
  ReadyCalls ready;
  for (;;) {
    epoll_event event;
    absl::StatusOr<int> count = poller_.Wait(&event, 1, -1);
    if (!count.ok()) {
      Log(count.status().message());
      continue;
    }
    if (*count == 0) continue;
    if (event.data.u64 == kStopTag) return Role::kStop;
    if (!HandleLeaderEvent(event, &ready)) return NextRole();
  }
}

bool ServerRuntime::HandleLeaderEvent(const epoll_event& event,
                                      ReadyCalls* ready) {
  const uint64_t tag = event.data.u64;
  const uint64_t stint = BeginStint();
  if (tag < kFirstConnectionTag) {
    HandleEvent(tag, event.events, stint);
  } else {
    std::shared_ptr<ServerConnection> connection;
    {
      MutexLock lock(&mu_);
      auto it = connections_.find(tag);
      if (it != connections_.end()) connection = it->second;
    }
    // (Closed meanwhile if not found.)
    if (connection != nullptr) {
      HandleConnectionEvent(connection, event.events, stint, ready);
    }
  }
  return EndStint(stint);
}

uint64_t ServerRuntime::BeginStint() {
  // Only the leader writes an even stint_, so a plain store will do; it is
  // sequentially consistent for the watchdog_sleeping_ handshake.
  const uint64_t stint = stint_.load(std::memory_order_relaxed) + 1;
  stint_.store(stint);
  if (watchdog_sleeping_.load()) {
    MutexLock lock(&mu_);
    watchdog_sleeping_.store(false);  // the watchdog wakes at the unlock
  }
  return stint;
}

bool ServerRuntime::EndStint(uint64_t stint) {
  return stint_.compare_exchange_strong(stint, stint + 1);
}

ServerRuntime::Role ServerRuntime::NextRole() {
  MutexLock lock(&mu_);
  if (state_ == State::kStopping) return Role::kStop;
  if (!watchdog_) {
    watchdog_ = true;
    return Role::kWatch;
  }
  // Enough threads lead and watch; more would only spread events over cold
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
  uint64_t last = stint_.load();
  int quiet_ticks = 0;
  for (;;) {
    mu_.AwaitWithDeadline(stopping, absl::Now() + kWatchTick);
    if (stopping()) return Role::kStop;
    uint64_t now = stint_.load();
    if (now == last && now % 2 == 1 && blocking_stint_.load() == now &&
        stint_.compare_exchange_strong(now, now + 1)) {
      break;  // the leader has stayed in a handler for a whole tick
    }
    quiet_ticks = now == last ? quiet_ticks + 1 : 0;
    if (quiet_ticks >= kQuietTicksBeforeSleep && now % 2 == 0) {
      // No event for a while: sleep without ticking until the next stint
      // begins, and let the memory that busy spell kept warm go; unless
      // one began just now (see watchdog_sleeping_).
      watchdog_sleeping_.store(true);
      if (stint_.load() == now) {
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
    last = stint_.load();
  }
  // The lead is ours. Replies the old leader's batch holds back go out
  // now, and the calls it queued come to us; find a successor to watch.
  ReleaseBatchesLocked();
  watchdog_ = false;
  if (parked_ > 0) {
    --parked_;
    ++unparks_;
    watchdog_ = true;
  } else if (static_cast<int>(threads_.size()) < options_.max_threads + 2) {
    // max_threads in handlers, one leading, one watching.
    watchdog_ = true;
    threads_.emplace_back(&ServerRuntime::ThreadMain, this, Role::kWatch);
  }
  return Role::kLead;
}

void ServerRuntime::ReleaseBatchesLocked() {
  for (ServerConnection* connection : corked_) connection->BreakCork();
  if (!tasks_.empty()) SignalEventFd(task_fd_.get(), tasks_.size());
}

}  // namespace sockrpc
