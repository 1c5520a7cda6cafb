// ServerRuntime's threads and their roles (docs/ARCHITECTURE.md,
// "Threading model"):
//
// - the leader: the one thread in epoll_wait; it handles each event it
//   gets itself, handlers included (no hand-off);
// - the watchdog: takes the lead from a leader that stays on one event for
//   a whole tick, so one slow handler delays the others by a tick at most;
// - threads that lost the lead: they finish their event (a handler, say),
//   then watch if nobody does, else park until a watchdog is needed.
//
// The solo connection. A connection whose events come kSoloStreak times
// in a row with no other connection's between (a lone busy client) goes
// solo: epoll stops watching it for EPOLLIN, and the leader waits for its
// bytes in its own ReceiveRing, which also polls the epoll instance. One
// io_uring_enter() then waits and reads, where epoll_wait() and read()
// took two system calls. States, all changed by the lead's holder:
//
//        streak of kSoloStreak          another connection's event,
//   [in epoll] -----------------> [solo] ----------------------> [in epoll]
//        ^   (SetSolo(true))        |  ^   or no ring on the new   (SetSolo
//        |                          |  |   leader's thread          (false))
//        +--------------------------+  | ring read / other events:
//          closed (epoll dropped it)   +---- stays solo
//
// Only the leader reads a solo connection (epoll reports only EPOLLOUT,
// EPOLLHUP or EPOLLERR for it, which the leader handles too), so its bytes
// keep their order; a new leader inherits it. The ring's poll of the epoll
// instance ends the wait when anything else is ready; the leader then
// looks with epoll_wait(0).
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"
#include "transport/posix_error.h"

namespace sockrpc {

void ServerRuntime::ThreadMain(Role role) {
  LeaderRing own;
  while (role != Role::kStop) {
    role = role == Role::kWatch ? Watch() : Lead(&own);
  }
}

ReceiveRing* ServerRuntime::RingOf(LeaderRing* own) {
  if (ABSL_PREDICT_FALSE(!own->tried)) {
    own->tried = true;
    own->ring = ReceiveRing::Create(poller_.fd());
  }
  return own->ring.get();
}

ServerRuntime::Role ServerRuntime::Lead(LeaderRing* own) {
  ReadyCalls ready;
  // Whether epoll may still have events: after one taken while solo, look
  // again at once (a burst of events costs one epoll_wait each, not a ring
  // wait whose poll ends it at once, and a cancel).
  bool look_again = false;
  for (;;) {
    int timeout_ms = -1;
    if (solo_ != nullptr && !look_again) {
      ReceiveRing* ring = RingOf(own);
      if (ring == nullptr || solo_->closed()) {
        EndSolo();
      } else {
        // (Copied out of the stint: handing the lead over orders only what
        // came before it.)
        const std::shared_ptr<ServerConnection> solo = solo_;
        const ReceiveRing::Received received = ring->Receive(
            solo->fd(), absl::MakeSpan(own->scratch), absl::InfiniteFuture());
        if (ABSL_PREDICT_FALSE(received.ring_failed)) {
          // The kernel refuses this thread's ring: epoll it is.
          Log(absl::StrCat("io_uring failed (", ErrnoText(received.error),
                           "): the connection goes back to epoll"));
          own->ring.reset();
          EndSolo();
          continue;
        }
        if (received.bytes >= 0 || received.error != 0) {
          if (!HandleSoloRead(solo, received, absl::MakeSpan(own->scratch),
                              &ready)) {
            break;
          }
        }
        if (!received.woken) continue;
        timeout_ms = 0;  // epoll has something, or had: look
      }
    } else if (look_again) {
      timeout_ms = 0;
    }
    epoll_event event;
    absl::StatusOr<int> count = poller_.Wait(&event, 1, timeout_ms);
    look_again = false;
    if (!count.ok()) {
      Log(count.status().message());
      continue;
    }
    if (*count == 0) continue;
    if (event.data.u64 == kStopTag) {
      solo_.reset();
      return Role::kStop;
    }
    if (solo_ != nullptr && event.data.u64 >= kFirstConnectionTag &&
        event.data.u64 != solo_->tag()) {
      EndSolo();  // it is not alone
    }
    std::shared_ptr<ServerConnection> handled;
    if (!HandleLeaderEvent(event, &ready, &handled)) break;
    if (handled != nullptr) NoteConnectionEvent(std::move(handled), own);
    look_again = solo_ != nullptr;
  }
  // The lead was lost. (Out of the loop first: a thread may park in
  // NextRole() for long, and must not keep a connection alive meanwhile.)
  return NextRole();
}

bool ServerRuntime::HandleLeaderEvent(
    const epoll_event& event, ReadyCalls* ready,
    std::shared_ptr<ServerConnection>* handled) {
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
      if (handled != nullptr) *handled = std::move(connection);
    }
  }
  return EndStint(stint);
}

bool ServerRuntime::HandleSoloRead(
    const std::shared_ptr<ServerConnection>& solo,
    const ReceiveRing::Received& received, absl::Span<char> scratch,
    ReadyCalls* ready) {
  const uint64_t stint = BeginStint();
  const bool open = solo->OnReceived(solo, received, scratch, ready);
  // (Closed, it leaves solo_ at the next turn of Lead(), whichever thread
  // leads then.)
  FinishConnectionEvent(solo, open, stint, ready);
  return EndStint(stint);
}

void ServerRuntime::NoteConnectionEvent(
    std::shared_ptr<ServerConnection> connection, LeaderRing* own) {
  if (connection->tag() != streak_tag_) {
    streak_tag_ = connection->tag();
    streak_ = 1;
    return;
  }
  if (streak_ < kSoloStreak) ++streak_;
  if (streak_ < kSoloStreak || solo_ != nullptr ||
      (own->tried && own->ring == nullptr) || connection->closed() ||
      !connection->CanGoSolo() || RingOf(own) == nullptr) {
    return;
  }
  connection->SetSolo(true);
  solo_ = std::move(connection);
}

void ServerRuntime::EndSolo() {
  if (!solo_->closed()) solo_->SetSolo(false);
  solo_.reset();
  streak_ = 0;
}

void ServerRuntime::WakeWatchdog() {
  MutexLock lock(&mu_);
  watchdog_sleeping_.store(false);  // the watchdog wakes at the unlock
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
