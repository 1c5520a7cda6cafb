// ServerRuntime's timers: connection housekeeping (handshake and idle
// expiry, keepalive PINGs) and call deadlines, each a timerfd set to the next
// expiry, so an idle server has no timer ticking.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"

namespace sockrpc {

void ServerRuntime::ArmHousekeepingLocked(absl::Time when) {
  if (when >= housekeeping_at_) return;
  housekeeping_at_ = when;
  itimerspec spec{};
  spec.it_value =
      absl::ToTimespec(std::max(when - absl::Now(), absl::Milliseconds(1)));
  timerfd_settime(timer_fd_.get(), 0, &spec, nullptr);
  (void)poller_.Modify(timer_fd_.get(), EPOLLIN | EPOLLONESHOT, kTimerTag);
}

void ServerRuntime::Housekeeping() {
  uint64_t expirations;
  (void)!read(timer_fd_.get(), &expirations, sizeof(expirations));
  // Look at each connection without holding mu_: a connection's own locks
  // are taken before mu_, never after.
  std::vector<std::shared_ptr<ServerConnection>> connections;
  {
    MutexLock lock(&mu_);
    housekeeping_at_ = absl::InfiniteFuture();
    connections.reserve(connections_.size());
    for (const auto& [tag, connection] : connections_) {
      connections.push_back(connection);
    }
  }
  const absl::Time now = absl::Now();
  absl::Time next = absl::InfiniteFuture();
  for (const auto& connection : connections) {
    ServerConnection::Expiry expiry = connection->NextExpiry(now);
    if (expiry.pings) connection->SendKeepalivePing();
    if (expiry.at > now || !expiry.closes) {
      next = std::min(next, std::max(expiry.at, now + absl::Milliseconds(1)));
      continue;
    }
    Log(absl::StrCat("connection from ", connection->peer(),
                     " dropped: ", expiry.why));
    connection->SendGoAway(absl::UnavailableError(
        absl::StrCat("connection closed by the server: ", expiry.why)));
    CloseConnection(connection);
  }
  MutexLock lock(&mu_);
  // A listener paused because the server was full (RefusingWhileFullLocked())
  // resumes once the grace is over, to refuse what still finds it full.
  if (full_since_ != absl::InfiniteFuture()) {
    if (now - full_since_ >= kFullGrace) {
      ResumeListenersLocked();
    } else {
      next = std::min(next, full_since_ + kFullGrace);
    }
  }
  if (options_.exit_when_idle > absl::ZeroDuration()) {
    ExitIfIdleLocked(now, &next);
  }
  if (state_ == State::kRunning && next != absl::InfiniteFuture()) {
    ArmHousekeepingLocked(next);
  }
}

void ServerRuntime::ExitIfIdleLocked(absl::Time now, absl::Time* next) {
  if (state_ != State::kRunning || idle_exit_) return;
  if (!connections_.empty())
    return;  // CloseConnection() of the last one
             // sets idle_since_ and the timer
  if (accepts_running_ > 0 || calls_in_flight_.load() > 0) {
    // A connection is on its way in, or a call outlives its connection:
    // idle only from when those are done.
    idle_since_ = now;
  }
  const absl::Time due = idle_since_ + options_.exit_when_idle;
  if (now < due) {
    *next = std::min(*next, due);
    return;
  }
  // The decision. With mu_ held, no thread is between accept() and
  // connections_ (accepts_running_ is 0) and none starts (it looks at
  // idle_exit_ first). A connection still in a listener's queue means
  // a client came: serve it (the listener's event is on its way).
  if (ConnectionWaitingLocked()) {
    idle_since_ = now;
    *next = std::min(*next, now + options_.exit_when_idle);
    return;
  }
  idle_exit_ = true;
  // Stop accepting before anything else. A socket passed by systemd stays
  // open in systemd, so what comes from now on waits in its queue for the
  // next instance; a socket this server bound is closed (and its file
  // removed), and a client connecting from now on is refused.
  for (Listener& listener : listeners_) {
    poller_.Remove(listener.fd());
    listener.Close();
  }
  Log(absl::StrCat("server idle for ",
                   absl::FormatDuration(options_.exit_when_idle),
                   " (exit_when_idle): shutting down"));
  // Shutdown() joins the server's threads, so it runs on a thread of its
  // own; the destructor joins that one.
  idle_exit_thread_ = std::thread([this] { Shutdown(absl::InfiniteFuture()); });
}

bool ServerRuntime::ConnectionWaitingLocked() const {
  std::vector<pollfd> fds;
  for (const Listener& listener : listeners_) {
    if (listener.fd() >= 0) fds.push_back(pollfd{listener.fd(), POLLIN, 0});
  }
  if (fds.empty()) return false;
  return ::poll(fds.data(), fds.size(), 0) > 0;
}

void ServerRuntime::ScheduleDeadline(
    const std::shared_ptr<ServerCallState>& call) {
  MutexLock lock(&deadlines_mu_);
  deadlines_.emplace(
      std::make_pair(call->deadline(), reinterpret_cast<uintptr_t>(call.get())),
      call);
  if (call->deadline() < deadline_timer_at_) ArmDeadlineTimerLocked();
}

void ServerRuntime::CancelDeadline(const ServerCallState& call) {
  MutexLock lock(&deadlines_mu_);
  deadlines_.erase(
      std::make_pair(call.deadline(), reinterpret_cast<uintptr_t>(&call)));
  // The timer is left as it is: it may fire early for nothing, and then
  // ExpireDeadlines sets it again (see deadline_timer_at_).
}

void ServerRuntime::ArmDeadlineTimerLocked() {
  itimerspec spec{};
  deadline_timer_at_ = absl::InfiniteFuture();
  if (!deadlines_.empty()) {
    deadline_timer_at_ = deadlines_.begin()->first.first;
    absl::Duration wait =
        std::max(deadline_timer_at_ - absl::Now(), absl::Microseconds(1));
    spec.it_value = absl::ToTimespec(wait);
  }
  timerfd_settime(deadline_timer_fd_.get(), 0, &spec, nullptr);
}

void ServerRuntime::ExpireDeadlines() {
  uint64_t expirations;
  (void)!read(deadline_timer_fd_.get(), &expirations, sizeof(expirations));
  std::vector<std::shared_ptr<ServerCallState>> expired;
  {
    MutexLock lock(&deadlines_mu_);
    const absl::Time now = absl::Now();
    while (!deadlines_.empty() && deadlines_.begin()->first.first <= now) {
      if (auto call = deadlines_.begin()->second.lock()) {
        expired.push_back(std::move(call));
      }
      deadlines_.erase(deadlines_.begin());
    }
    ArmDeadlineTimerLocked();
  }
  (void)poller_.Modify(deadline_timer_fd_.get(), EPOLLIN | EPOLLONESHOT,
                       kDeadlineTag);
  for (const auto& call : expired) {
    call->Cancel(absl::DeadlineExceededError("deadline exceeded"),
                 /*send_status=*/true);
  }
}

}  // namespace sockrpc
