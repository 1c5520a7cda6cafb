// A channel's servers: pick_first over a target's addresses in order
// (ConnectFirst()), and round_robin over every address they resolve to,
// each backend with its own connection and reconnection backoff
// (Channel::PickBackend()). See LoadBalancing in client/channel.h.
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/channel_state.h"
#include "transport/posix_error.h"
#include "transport/socket.h"
#include "transport/status_macros.h"
#include "transport/tls_session.h"

namespace sockrpc {
namespace {

// A round_robin connection lost sooner than this after it was made counts
// as a failed attempt (see ReconnectBackoff in client/channel.h).
constexpr absl::Duration kShortestHealthyConnection = absl::Seconds(1);

// `wait` randomized by up to +-`jitter` of itself.
absl::Duration Jittered(absl::Duration wait, double jitter,
                        std::minstd_rand& random) {
  std::uniform_real_distribution<double> spread(-jitter, jitter);
  return wait * (1.0 + spread(random));
}

// The wait after a failed attempt that followed a wait of `last` (zero:
// none yet).
absl::Duration NextBackoff(absl::Duration last,
                           const ReconnectBackoff& backoff) {
  if (last == absl::ZeroDuration()) return backoff.initial;
  return std::min(last * backoff.multiplier, backoff.max);
}

}  // namespace

absl::Status Channel::State::ApplyResolutionLocked(
    absl::StatusOr<std::vector<ChannelBackend>> listed) {
  resolved_at = absl::Now();
  ++attempts_ended;  // (wakes the calls waiting for the list)
  if (!listed.ok()) return listed.status();
  if (listed->size() > kMaxBackends) listed->resize(kMaxBackends);
  std::vector<Backend> fresh;
  fresh.reserve(listed->size());
  for (ChannelBackend& each : *listed) {
    Backend backend;
    for (Backend& old : backends) {
      if (old.name == each.name && old.connector != nullptr) {
        backend = std::move(old);
        old.connector = nullptr;  // taken
        break;
      }
    }
    backend.name = std::move(each.name);
    backend.connector = std::move(each.connector);
    fresh.push_back(std::move(backend));
  }
  // (Cleared first: a forked child must not find a connection that the
  // assignment below frees.)
  for (auto& slot : backends_for_fork) {
    slot.store(nullptr, std::memory_order_release);
  }
  backends = std::move(fresh);
  for (size_t i = 0; i < backends_for_fork.size(); ++i) {
    backends_for_fork[i].store(
        i < backends.size() ? backends[i].connection.get() : nullptr,
        std::memory_order_release);
  }
  if (next_backend >= backends.size()) next_backend = 0;
  return absl::OkStatus();
}

absl::Status Channel::ConnectDeadlineExceeded() const {
  return absl::DeadlineExceededError(
      absl::StrCat("deadline exceeded while connecting to ", target_));
}

absl::StatusOr<Fd> ConnectFirst(const std::vector<Address>& addresses,
                                absl::Time deadline) {
  if (addresses.size() == 1) return Connect(addresses[0], deadline);
  std::vector<std::string> reasons;
  for (const Address& address : addresses) {
    absl::StatusOr<Fd> fd = Connect(address, deadline);
    if (fd.ok()) return fd;
    if (absl::IsDeadlineExceeded(fd.status())) return fd.status();
    reasons.push_back(
        absl::StrCat(address.ToString(), ": ", fd.status().message()));
  }
  return absl::UnavailableError(absl::StrJoin(reasons, "; "));
}

absl::StatusOr<std::vector<ChannelBackend>> ResolveBackendsOf(
    const std::vector<Address>& addresses) {
  std::vector<ChannelBackend> backends;
  absl::Status error;
  for (const Address& address : addresses) {
    absl::StatusOr<std::vector<SocketAddress>> resolved = Resolve(address);
    if (!resolved.ok()) {
      error = resolved.status();
      continue;
    }
    for (const SocketAddress& socket_address : *resolved) {
      Address literal = FromSocketAddress(socket_address);
      std::string name = literal.ToString();
      backends.push_back(
          {std::move(name),
           [literal = std::move(literal)](absl::Time deadline, int cancel_fd) {
             return Connect(literal, deadline, cancel_fd);
           }});
    }
  }
  if (backends.empty()) {
    return error.ok() ? absl::UnavailableError("the target has no addresses")
                      : error;
  }
  return backends;
}

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::PickBackend(
    State& state, absl::Time deadline) {
  MutexLock lock(&state.mu);
  // The backends whose attempt this call waited for: once it has failed,
  // not waited for again by this call (its error says why).
  std::vector<std::string> awaited;
  for (;;) {
    if (state.closing) {
      return absl::UnavailableError(
          absl::StrCat("the channel to ", target_, " is closing"));
    }
    if (state.backends.empty()) {
      if (state.resolving) {
        // Another call lists them: wait for it.
        const uint64_t attempts_ended = state.attempts_ended;
        if (!state.mu.AwaitWithDeadline(
                [&state, attempts_ended]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
                      return state.attempts_ended != attempts_ended ||
                             state.closing;
                    },
                deadline)) {
          return ConnectDeadlineExceeded();
        }
        continue;
      }
      // The first list (or none was had): this call must wait for it
      // anyway; without the lock, so that others may wait with it.
      state.resolving = true;
      state.mu.Unlock();
      absl::StatusOr<std::vector<ChannelBackend>> listed = resolver_();
      state.mu.Lock();
      state.resolving = false;
      const absl::Status resolved =
          state.ApplyResolutionLocked(std::move(listed));
      if (state.backends.empty()) {
        return absl::UnavailableError(resolved.message());
      }
    } else if (absl::Now() >= state.resolved_at + options_.resolve_interval &&
               !state.resolving) {
      // Listed again in the background: calls go on with the list they
      // have (without a thread, the next call tries again).
      state.resolving =
          state.StartThreadLocked("sockrpc-resolve", [this, &state] {
            absl::StatusOr<std::vector<ChannelBackend>> listed = resolver_();
            MutexLock lock(&state.mu);
            state.resolving = false;
            (void)state.ApplyResolutionLocked(std::move(listed));
          });
    }
    const absl::Time now = absl::Now();
    std::vector<std::string> reasons;                  // of those down
    absl::Time backoff_ends = absl::InfiniteFuture();  // the first to end
    size_t connecting = 0;
    const size_t count = state.backends.size();
    for (size_t i = 0; i < count; ++i) {
      const size_t index = (state.next_backend + i) % count;
      State::Backend& backend = state.backends[index];
      if (backend.connection != nullptr) {
        if (backend.connection->TakesNewCalls()) {
          state.next_backend = index + 1;
          return backend.connection;
        }
        // Lost. After a healthy life, connected again at once; found lost
        // soon after it was made (a server that takes connections and
        // closes them at once: full, say), a failed attempt whose backoff
        // grows, unless one of our own calls broke it.
        state.backends_for_fork[index].store(nullptr,
                                             std::memory_order_release);
        const bool ours = backend.connection->failed_by_own_call();
        backend.connection.reset();
        const absl::Duration lived = now - backend.connected_at;
        if (lived < kShortestHealthyConnection && !ours) {
          backend.last_error = absl::UnavailableError(absl::StrCat(
              "the connection to ", backend.name, " was found lost ",
              absl::FormatDuration(absl::Ceil(lived, absl::Microseconds(1))),
              " after it was made"));
          state.BackOffLocked(backend, options_.reconnect_backoff);
        } else {
          backend.backoff = absl::ZeroDuration();
          backend.retry_at = absl::InfinitePast();
        }
      }
      // (An awaited backend whose connection was made and lost after a
      // healthy life since, or that a new list brought back, has no error:
      // connected again.)
      const bool failed_for_this_call =
          !backend.connecting && !backend.last_error.ok() &&
          absl::c_linear_search(awaited, backend.name);
      if (!backend.connecting && !failed_for_this_call &&
          now >= backend.retry_at) {
        StartBackendConnectLocked(state, index);
      }
      if (backend.connecting) {
        ++connecting;
        if (!absl::c_linear_search(awaited, backend.name)) {
          awaited.push_back(backend.name);
        }
        continue;
      }
      // (A connector's error names its address.)
      std::string reason(backend.last_error.message());
      if (now < backend.retry_at) {
        if (!failed_for_this_call) {
          backoff_ends = std::min(backoff_ends, backend.retry_at);
        }
        absl::StrAppend(&reason, " (tried again in ",
                        absl::FormatDuration(absl::Ceil(backend.retry_at - now,
                                                        absl::Milliseconds(1))),
                        ")");
      }
      reasons.push_back(std::move(reason));
    }
    if (connecting == 0) {
      // None is up: list the backends afresh at the next call.
      state.resolved_at = absl::InfinitePast();
      return absl::UnavailableError(
          absl::StrCat("no backend of ", target_,
                       " is reachable: ", absl::StrJoin(reasons, "; ")));
    }
    // None is up yet: wait until an attempt ends (or a backoff does), then
    // look again.
    const uint64_t attempts_ended = state.attempts_ended;
    const bool ended = state.mu.AwaitWithDeadline(
        [&state, attempts_ended]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
          return state.attempts_ended != attempts_ended || state.closing;
        },
        std::min(deadline, backoff_ends));
    if (!ended && absl::Now() >= deadline) {
      return ConnectDeadlineExceeded();
    }
  }
}

absl::Status Channel::ConnectEveryBackend(State& state, absl::Time deadline) {
  SOCKRPC_RETURN_IF_ERROR(PickBackend(state, deadline).status());
  MutexLock lock(&state.mu);
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < state.backends.size(); ++i) {
    const State::Backend& backend = state.backends[i];
    if (backend.connection == nullptr && !backend.connecting &&
        now >= backend.retry_at && !state.closing) {
      StartBackendConnectLocked(state, i);
    }
  }
  (void)state.mu.AwaitWithDeadline(
      [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
        return state.closing ||
               absl::c_none_of(state.backends, [](const State::Backend& each) {
                 return each.connecting;
               });
      },
      deadline);
  return absl::OkStatus();
}

bool Channel::State::StartThreadLocked(const char* name,
                                       std::function<void()> work) {
  if (closing) return false;
  // The threads whose work is over have only their return left.
  for (const std::thread::id over : threads_over) {
    auto thread = absl::c_find_if(threads, [over](const std::thread& each) {
      return each.get_id() == over;
    });
    thread->join();
    threads.erase(thread);
  }
  threads_over.clear();
  try {
    threads.emplace_back([this, work = std::move(work)] {
      work();
      MutexLock lock(&mu);
      threads_over.push_back(std::this_thread::get_id());
    });
  } catch (const std::system_error&) {
    return false;  // (no exception leaves sockrpc's API)
  }
  // Named here, not by the thread itself: once the call that started it
  // returns, ps, debuggers and tests see its name, even before it runs.
  // (Its work cannot end meanwhile: it reports its end under mu, held.)
  pthread_setname_np(threads.back().native_handle(), name);
  return true;
}

void Channel::StartBackendConnectLocked(State& state, size_t index) {
  State::Backend& backend = state.backends[index];
  if (!state.cancel_connects.valid()) {
    state.cancel_connects = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!state.cancel_connects.valid()) {
      backend.last_error = absl::UnavailableError(
          absl::StrCat("cannot start connecting to ", backend.name, ": ",
                       PosixError("eventfd", errno).message()));
      state.BackOffLocked(backend, options_.reconnect_backoff);
      return;
    }
    state.cancel_connects_for_fork.store(state.cancel_connects.get(),
                                         std::memory_order_release);
  }
  backend.connecting = state.StartThreadLocked(
      "sockrpc-connect",
      [this, &state, attempt = ChannelBackend{backend.name, backend.connector},
       cancel_fd = state.cancel_connects.get()] {
        ConnectInBackground(state, attempt, cancel_fd);
      });
  if (!backend.connecting && !state.closing) {
    backend.last_error = absl::UnavailableError(absl::StrCat(
        "cannot start connecting to ", backend.name, ": no thread"));
    state.BackOffLocked(backend, options_.reconnect_backoff);
  }
}

void Channel::ConnectInBackground(State& state, const ChannelBackend& backend,
                                  int cancel_fd) {
  std::unique_ptr<TlsSession> tls;
  absl::StatusOr<Fd> fd = Connect(
      [&backend, cancel_fd](absl::Time deadline) {
        return backend.connector(deadline, cancel_fd);
      },
      backend.name, absl::Now() + options_.connect_timeout, &tls, cancel_fd);
  std::shared_ptr<ClientConnection> connection;
  if (fd.ok()) {
    connection = std::make_shared<ClientConnection>(
        *std::move(fd), backend.name, options_, state.loop, std::move(tls));
  }
  MutexLock lock(&state.mu);
  // Found again by name: a resolution meanwhile may have moved it, or
  // dropped it (then the connection, if any, goes unused).
  for (size_t i = 0; i < state.backends.size(); ++i) {
    State::Backend& found = state.backends[i];
    if (found.name != backend.name || !found.connecting) continue;
    found.connecting = false;
    if (connection != nullptr) {
      // (Its backoff is reset once it has lived; see PickBackend().)
      found.connected_at = absl::Now();
      found.last_error = absl::OkStatus();
      found.connection = std::move(connection);
      state.backends_for_fork[i].store(found.connection.get(),
                                       std::memory_order_release);
    } else if (!(state.closing && absl::IsCancelled(fd.status()))) {
      found.last_error = fd.status();
      state.BackOffLocked(found, options_.reconnect_backoff);
    }
    break;
  }
  ++state.attempts_ended;
  // (An unused connection closes as this returns, without the lock.)
}

void Channel::State::BackOffLocked(Backend& backend,
                                   const ReconnectBackoff& policy) {
  backend.backoff = NextBackoff(backend.backoff, policy);
  backend.retry_at =
      absl::Now() + Jittered(backend.backoff, policy.jitter, jitter);
}

void Channel::CancelBackgroundWork(State& state) {
  MutexLock lock(&state.mu);
  state.closing = true;
  if (state.cancel_connects.valid()) {
    const uint64_t one = 1;
    (void)!::write(state.cancel_connects.get(), &one, sizeof(one));
  }
}

void Channel::JoinBackgroundWork(State& state) {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&state.mu);
    threads.swap(state.threads);
    state.threads_over.clear();
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace sockrpc
