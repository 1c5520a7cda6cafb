// ServerRuntime's drain and stop (see server/server_runtime.h): counting
// calls in flight, Shutdown() (stop accepting, GOAWAY, wait for calls up to
// the deadline, cancel the rest, join the threads, finish lingering
// reactors) and Wait().
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/server_runtime.h"

namespace sockrpc {

void ServerRuntime::WakeShutdown() {
  MutexLock lock(&mu_);  // Shutdown()'s wait looks again at the unlock
}

void ServerRuntime::Shutdown(absl::Time deadline) {
  std::vector<std::shared_ptr<ServerConnection>> connections;
  {
    MutexLock lock(&mu_);
    if (state_ == State::kIdle) {
      listeners_.clear();  // never started: just remove socket files
      state_ = State::kStopped;
      return;
    }
    if (state_ != State::kRunning) {
      // Another thread is shutting down: wait for it to finish.
      mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return state_ == State::kStopped;
      });
      return;
    }
    state_ = State::kDraining;
    accepting_calls_.store(false);
    // A server thread may be inside accept() on a listener (it checked
    // state_ before): let it finish before the descriptor is closed. None
    // starts now that state_ is kDraining.
    mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return accepts_running_ == 0;
    });
    for (Listener& listener : listeners_) {
      if (listener.fd() >= 0) poller_.Remove(listener.fd());
      listener.Close();
    }
    for (const auto& [tag, connection] : connections_) {
      connections.push_back(connection);
    }
  }
  // Every service reports NOT_SERVING from now on, and open Watch calls
  // are sent it and end, so that they do not hold up the drain below.
  if (health_ != nullptr) health_->Shutdown();
  // Tell every client; calls already read run to completion.
  for (const auto& connection : connections) {
    connection->SendGoAway(absl::UnavailableError("server shutting down"));
  }
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(
        [this]()
            ABSL_NO_THREAD_SAFETY_ANALYSIS { return calls_in_flight_ == 0; },
        deadline);
  }
  // Past the grace period: end what still runs, so handlers blocked on
  // their streams return.
  for (const auto& connection : connections) {
    connection->CancelAllCalls(absl::UnavailableError("server shutting down"),
                               /*send_status=*/true);
  }
  {
    MutexLock lock(&mu_);
    state_ = State::kStopping;
    SignalEventFd(stop_fd_.get());
    threads.swap(threads_);
  }
  {
    MutexLock lock(&posted_mu_);
    posting_stopped_ = true;
    reactions_posted_.clear();  // ForceDone() below runs what they held
  }
  // Every thread sees the stop event once it is back in epoll_wait; a
  // handler still running past the deadline is waited for.
  for (std::thread& thread : threads) thread.join();
  // Reactors that never finished: OnCancel() ran or runs now, then
  // OnDone(), here, as no server thread runs any more.
  std::vector<std::shared_ptr<ServerCallState>> lingering;
  {
    MutexLock lock(&reactors_mu_);
    for (const auto& [raw, call] : reactors_) {
      if (std::shared_ptr<ServerCallState> live = call.lock()) {
        lingering.push_back(std::move(live));
      }
    }
  }
  for (const auto& call : lingering) call->ForceDone();
  {
    MutexLock lock(&mu_);
    for (const auto& [tag, connection] : connections_) connection->Shutdown();
    connections_.clear();
    solo_.reset();  // (no thread leads any more)
    tasks_.clear();
    waiting_for_slot_.clear();
    state_ = State::kStopped;
  }
}

void ServerRuntime::Wait() {
  MutexLock lock(&mu_);
  mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return state_ == State::kStopped;
  });
}

}  // namespace sockrpc
