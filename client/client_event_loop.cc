#include "client/client_event_loop.h"

#include <pthread.h>
#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "client/client_callback_call.h"
#include "client/client_connection.h"

namespace sockrpc {
namespace {

// The tag of the wake eventfd; connections are tagged with their address.
constexpr uint64_t kWakeTag = 0;
constexpr int kMaxEvents = 64;

}  // namespace

using internal::ClientCallbackCall;

ClientEventLoop::~ClientEventLoop() {
  // Every call was deleted by the thread before it ended (Shutdown()).
  if (thread_.joinable()) thread_.detach();  // unreachable: see Shutdown()
}

absl::Status ClientEventLoop::Start() {
  // Started and not stopping (the usual case): no lock.
  if (taking_calls_.load(std::memory_order_acquire)) return absl::OkStatus();
  MutexLock lock(&mu_);
  if (stopping_ || ended_) {
    return absl::UnavailableError("the channel is being destroyed");
  }
  if (started_) return absl::OkStatus();
  absl::StatusOr<Poller> poller = Poller::Create();
  if (!poller.ok()) return absl::UnavailableError(poller.status().message());
  absl::StatusOr<Fd> wake = MakeEventFd(/*semaphore=*/false);
  if (!wake.ok()) return absl::UnavailableError(wake.status().message());
  absl::Status added = poller->Add(wake->get(), EPOLLIN, kWakeTag);
  if (!added.ok()) return absl::UnavailableError(added.message());
  poller_.emplace(*std::move(poller));
  wake_fd_ = *std::move(wake);
  // The ring the loop waits in for a solo connection, woken by anything
  // epoll has (the eventfd, other connections, output room); made here,
  // with the loop's other descriptors, so that they come and go together.
  ring_ = ReceiveRing::Create(poller_->fd());
  if (ring_ != nullptr) {
    ring_fd_number_.store(ring_->fd(), std::memory_order_release);
  }
  epoll_fd_number_.store(poller_->fd(), std::memory_order_release);
  wake_fd_number_.store(wake_fd_.get(), std::memory_order_release);
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  taking_calls_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

std::unique_ptr<ClientCallbackCall> ClientEventLoop::Adopt(
    std::unique_ptr<ClientCallbackCall> call) {
  MutexLock lock(&mu_);
  if (!started_ || ended_) return call;
  ClientCallbackCall* raw = call.release();
  calls_.insert(raw);
  raw->adopted = true;
  // Not scheduled: there is nothing to advance before its Start() (or
  // Attach()), which schedules it if anything can be due.
  return nullptr;
}

void ClientEventLoop::Schedule(ClientCallbackCall* call) {
  if (OnLoopThread()) {
    // The loop's own (its reads' dispatch, a reaction's operation, a
    // timer): listed without the lock, for the loop alone, which looks at
    // its lists before it sleeps. (`adopted` was set before the call could
    // reach the loop's thread: under a lock taken since.)
    if (!call->adopted || call->scheduled_here) return;
    call->scheduled_here = true;
    ready_here_.push_back(call);
    return;
  }
  MutexLock lock(&mu_);
  // A call no loop took (its StartCall() ends it on its own thread) is
  // never listed.
  if (!call->adopted || call->scheduled) return;
  call->scheduled = true;
  ready_.push_back(call);
  if (sleeping_) {
    sleeping_ = false;
    SignalEventFd(wake_fd_.get());
  }
}

void ClientEventLoop::WakeUp() {
  MutexLock lock(&mu_);
  if (sleeping_) {
    sleeping_ = false;
    SignalEventFd(wake_fd_.get());
  }
}

void ClientEventLoop::Watch(const std::shared_ptr<ClientConnection>& connection,
                            int fd) {
  // A call on a connection registered for calls already only counts
  // itself, without the lock: with the count above 0, no Unwatch() removes
  // it meanwhile. (Registered, not only counted: a count above 0 may be a
  // first Watch() still registering under mu_, and the caller relies on
  // the registration once this returns.) Counts to and from 0 are settled
  // under mu_.
  std::atomic<int>& calls = connection->loop_calls_;
  for (int seen = connection->loop_watching_.load(std::memory_order_acquire)
                      ? calls.load(std::memory_order_relaxed)
                      : 0;
       seen > 0;) {
    if (calls.compare_exchange_weak(seen, seen + 1,
                                    std::memory_order_acq_rel)) {
      return;
    }
  }
  MutexLock lock(&mu_);
  calls.fetch_add(1, std::memory_order_acq_rel);
  Watched& watched = watched_[connection.get()];
  // Still watched: the Unwatch() that took the count to 0 has not come
  // for the lock yet, and will find it above 0 again.
  if (watched.connection != nullptr) return;
  watched.connection = connection;
  if (connection->keepalive_enabled()) {
    keepalive_watched_.fetch_add(1, std::memory_order_relaxed);
    keepalive_recheck_ = true;  // its first look is due now
    if (sleeping_) {
      sleeping_ = false;
      SignalEventFd(wake_fd_.get());
    }
  }
  // Edge-triggered, and armed for nothing yet: the caller arms it for
  // what is due (Arm()).
  (void)poller_->Add(fd, EPOLLET,
                     reinterpret_cast<uintptr_t>(connection.get()));
  connection->loop_armed_.store(0, std::memory_order_relaxed);
  connection->loop_watching_.store(true, std::memory_order_release);
}

void ClientEventLoop::Unwatch(ClientConnection* connection, int fd) {
  // Other calls still watch it: nothing else to do (see Watch()).
  if (connection->loop_calls_.fetch_sub(1, std::memory_order_acq_rel) > 1) {
    return;
  }
  std::shared_ptr<ClientConnection> forgotten;  // released after the lock
  MutexLock lock(&mu_);
  // A Watch() since took the count above 0 again: it stays watched.
  if (connection->loop_calls_.load(std::memory_order_acquire) > 0) return;
  auto it = watched_.find(connection);
  if (it == watched_.end()) return;
  poller_->Remove(fd);
  connection->loop_armed_.store(0, std::memory_order_relaxed);
  connection->loop_watching_.store(false, std::memory_order_relaxed);
  if (connection->keepalive_enabled()) {
    keepalive_watched_.fetch_sub(1, std::memory_order_relaxed);
  }
  forgotten = std::move(it->second.connection);
  watched_.erase(it);
}

void ClientEventLoop::Arm(ClientConnection* connection, int fd, uint32_t events,
                          bool report_again) {
  // Armed for these already, with nothing to report again: no system
  // call, and no lock. The note changes only with the registration (here,
  // in Watch() and in Unwatch(), under mu_; an event leaves an
  // edge-triggered registration as it was), and every caller holds the
  // connection's mu_ (ClientConnection::RearmLocked()), so read without
  // mu_ it is never stale. Output is armed afresh each time it is asked
  // for: a modification reports a socket writable at once, so bytes held
  // while the registration was armed for output already never wait for an
  // edge that may not come.
  std::atomic<uint32_t>& armed = connection->loop_armed_;
  if (!report_again && (events & EPOLLOUT) == 0 &&
      armed.load(std::memory_order_acquire) == events) {
    return;
  }
  MutexLock lock(&mu_);
  if (!watched_.contains(connection)) return;
  const bool modified = poller_
                            ->Modify(fd, events | EPOLLET,
                                     reinterpret_cast<uintptr_t>(connection))
                            .ok();
  armed.store(modified ? events : 0, std::memory_order_release);
}

void ClientEventLoop::FlushAfterTurn(
    std::shared_ptr<ClientConnection> connection) {
  // (Calls started one after another mostly share their connection.)
  if (flush_due_.empty() || flush_due_.back() != connection) {
    flush_due_.push_back(std::move(connection));
  }
}

void ClientEventLoop::FlushHeldCalls() {
  for (const std::shared_ptr<ClientConnection>& connection : flush_due_) {
    connection->FlushForLoop();
    // For what the socket did not take: EPOLLOUT.
    connection->RearmForLoop();
  }
  flush_due_.clear();
}

void ClientEventLoop::Shutdown(std::shared_ptr<ClientEventLoop> loop) {
  ClientEventLoop* self = loop.get();
  bool on_loop_thread;
  {
    MutexLock lock(&self->mu_);
    self->taking_calls_.store(false, std::memory_order_relaxed);
    if (!self->started_ || self->stopping_) {
      self->stopping_ = true;
      return;
    }
    self->stopping_ = true;
    on_loop_thread = self->OnLoopThread();
    if (on_loop_thread) self->self_ = std::move(loop);
    self->sleeping_ = false;
    SignalEventFd(self->wake_fd_.get());
  }
  if (on_loop_thread) {
    // A reaction is destroying the Channel. Calls not started yet must not
    // reach it any more: abandon them all now, before it is gone.
    self->Sweep();
    self->thread_.detach();
    return;
  }
  self->thread_.join();
}

// ---- The loop thread ----

void ClientEventLoop::Run() {
  // Named, for ps and debuggers (and the tests that count it).
  pthread_setname_np(pthread_self(), kThreadName);
  loop_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  epoll_event events[kMaxEvents];
  bool ready = false;
  for (;;) {
    RunScheduled();
    {
      // Calls its reactions started (a `done` that starts the next call)
      // are scheduled now: advance them in this turn rather than after a
      // wait that finds nothing (one epoll_wait a call less).
      MutexLock lock(&mu_);
      ready = !ready_.empty() || !ready_here_.empty();
    }
    if (ready) RunScheduled();
    const int timeout_ms = KeepWatchedAlive(ExpireDeadlines());
    FlushHeldCalls();
    bool stopping;
    {
      MutexLock lock(&mu_);
      stopping = stopping_;
    }
    if (stopping && Sweep()) break;
    ClientConnection* only = nullptr;         // the one watched, if one
    std::shared_ptr<ClientConnection> alone;  // it, if it may become solo
    {
      MutexLock lock(&mu_);
      // (A connection watched since KeepWatchedAlive() looked wants its
      // first keepalive look: no sleep either.)
      ready = !ready_.empty() || !ready_here_.empty() || keepalive_recheck_;
      sleeping_ = !ready;
      if (watched_.size() == 1) {
        only = watched_.begin()->first;
        if (!ready && solo_ == nullptr)
          alone = watched_.begin()->second.connection;
      }
    }
    // Another connection is watched too, or none is: solo no more.
    if (solo_ != nullptr && solo_.get() != only) EndSolo();
    bool woken = true;  // whether epoll has (or may have) something
    const bool slept = !ready && only != nullptr &&
                       SleepOnSolo(std::move(alone), timeout_ms, &woken);
    absl::StatusOr<int> count = 0;
    if (!slept) {
      count = poller_->Wait(events, kMaxEvents, ready ? 0 : timeout_ms);
    } else if (woken) {
      count = poller_->Wait(events, kMaxEvents, 0);
    }
    {
      MutexLock lock(&mu_);
      sleeping_ = false;
    }
    for (int i = 0; count.ok() && i < *count; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        DrainEventFd(wake_fd_.get());
        continue;
      }
      HandleConnectionEvent(events[i].data.u64, events[i].events);
    }
    // A turn that did not sleep reads the solo connection, whose input
    // epoll does not report.
    if (ready && solo_ != nullptr) NoteKeepaliveLook(solo_->ReadForLoop());
  }
  // (No receive is pending between waits: the ring may go.)
  solo_.reset();
  ring_fd_number_.store(-1, std::memory_order_release);
  ring_.reset();
  std::shared_ptr<ClientEventLoop> self;
  {
    MutexLock lock(&mu_);
    self = std::move(self_);
  }
  // `self`, if set, may be the last reference: nothing touches the loop
  // after this point.
}

void ClientEventLoop::RunScheduled() {
  std::vector<ClientCallbackCall*>& batch = running_;
  {
    MutexLock lock(&mu_);
    batch.swap(ready_);  // (ready_ gets the emptied vector's capacity)
    batch.insert(batch.end(), ready_here_.begin(), ready_here_.end());
    ready_here_.clear();
    for (ClientCallbackCall*& call : batch) {
      if (call->in_batch) {  // on both lists
        call = nullptr;
        continue;
      }
      call->in_batch = true;
      call->scheduled = false;
      call->scheduled_here = false;
      if (call->retired) {
        dead_.push_back(call);
        call = nullptr;
      }
    }
    for (ClientCallbackCall* call : batch) {
      if (call != nullptr) call->in_batch = false;
    }
  }
  for (ClientCallbackCall* call : dead_) delete call;
  dead_.clear();
  for (ClientCallbackCall* call : batch) {
    if (call == nullptr) continue;
    if (call->Advance()) {
      Retire(call);
      continue;
    }
    absl::Time deadline;
    if (call->TakeDeadline(&deadline)) {
      call->timer = deadlines_.emplace(deadline, call);
      call->has_timer = true;
    }
  }
  batch.clear();
}

int ClientEventLoop::ExpireDeadlines() {
  if (deadlines_.empty()) return -1;
  const absl::Time now = absl::Now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    ClientCallbackCall* call = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    call->has_timer = false;
    call->Expire();  // schedules it
  }
  if (deadlines_.empty()) return -1;
  return TimeoutMillis(deadlines_.begin()->first, now);
}

int ClientEventLoop::TimeoutMillis(absl::Time when, absl::Time now) {
  // Round up, so that the wait does not end just before `when`.
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(
          std::max(when - now, absl::ZeroDuration()), absl::Milliseconds(1))),
      24 * 3600 * 1000));
}

int ClientEventLoop::KeepWatchedAlive(int timeout_ms) {
  if (keepalive_watched_.load(std::memory_order_relaxed) == 0) {
    return timeout_ms;
  }
  std::vector<std::shared_ptr<ClientConnection>> due;
  const absl::Time now = absl::Now();
  {
    MutexLock lock(&mu_);
    if (!keepalive_recheck_ && now < keepalive_next_) {
      const int keepalive_ms = TimeoutMillis(keepalive_next_, now);
      return timeout_ms < 0 ? keepalive_ms : std::min(timeout_ms, keepalive_ms);
    }
    keepalive_recheck_ = false;
    for (const auto& [key, watched] : watched_) {
      if (key->keepalive_enabled()) due.push_back(watched.connection);
    }
  }
  // Without mu_: the connections' locks come before it.
  absl::Time next = absl::InfiniteFuture();
  for (const std::shared_ptr<ClientConnection>& connection : due) {
    next = std::min(next, connection->KeepAliveForLoop(now));
  }
  MutexLock lock(&mu_);
  keepalive_next_ = next;  // unless a Watch() meanwhile asks for a recheck
  if (next == absl::InfiniteFuture() || keepalive_recheck_) return timeout_ms;
  const int keepalive_ms = TimeoutMillis(next, now);
  return timeout_ms < 0 ? keepalive_ms : std::min(timeout_ms, keepalive_ms);
}

void ClientEventLoop::HandleConnectionEvent(uint64_t tag, uint32_t events) {
  std::shared_ptr<ClientConnection> connection;
  {
    MutexLock lock(&mu_);
    auto it = watched_.find(
        reinterpret_cast<ClientConnection*>(static_cast<uintptr_t>(tag)));
    if (it == watched_.end()) return;  // no longer watched
    connection = it->second.connection;
  }
  if (events & EPOLLOUT) connection->FlushForLoop();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    NoteKeepaliveLook(connection->ReadForLoop());
  }
  connection->RearmForLoop();
}

void ClientEventLoop::NoteKeepaliveLook(absl::Time look) {
  if (look == absl::InfiniteFuture()) return;
  MutexLock lock(&mu_);
  keepalive_next_ = std::min(keepalive_next_, look);
}

// ---- The solo connection ----

bool ClientEventLoop::SleepOnSolo(std::shared_ptr<ClientConnection> alone,
                                  int timeout_ms, bool* woken) {
  if (solo_ == nullptr) {
    if (alone == nullptr || !alone->ReadsThroughRing() || ring_ == nullptr) {
      return false;
    }
    solo_ = std::move(alone);
  }
  const absl::Time deadline =
      timeout_ms < 0 ? absl::InfiniteFuture()
                     : absl::Now() + absl::Milliseconds(timeout_ms);
  absl::Time keepalive_look = absl::InfiniteFuture();
  switch (solo_->ReceiveForLoop(*ring_, deadline, woken, &keepalive_look)) {
    case ClientConnection::LoopReceive::kWaited:
      NoteKeepaliveLook(keepalive_look);
      return true;
    case ClientConnection::LoopReceive::kRingFailed:
      // The kernel refuses the ring: epoll it is, from now on.
      ring_fd_number_.store(-1, std::memory_order_release);
      ring_.reset();
      break;
    case ClientConnection::LoopReceive::kRefused:
      break;
  }
  solo_.reset();  // (the connection left solo itself)
  return false;
}

void ClientEventLoop::EndSolo() {
  solo_->EndLoopSolo();
  solo_.reset();
}

void ClientEventLoop::Retire(ClientCallbackCall* call) {
  if (call->has_timer) {
    deadlines_.erase(call->timer);
    call->has_timer = false;
  }
  {
    MutexLock lock(&mu_);
    calls_.erase(call);
    if (call->scheduled || call->scheduled_here) {
      call->retired = true;  // deleted when taken from its list
      return;
    }
  }
  delete call;  // unwatches its connection: not under mu_
}

bool ClientEventLoop::Sweep() {
  std::vector<ClientCallbackCall*> calls;
  {
    MutexLock lock(&mu_);
    if (calls_.empty() && ready_.empty() && ready_here_.empty()) {
      ended_ = true;  // from now on Adopt() refuses
      return true;
    }
    for (ClientCallbackCall* call : calls_) {
      if (!call->swept) calls.push_back(call);
    }
  }
  for (ClientCallbackCall* call : calls) {
    call->swept = true;
    call->Abandon();
  }
  return false;
}

}  // namespace sockrpc
