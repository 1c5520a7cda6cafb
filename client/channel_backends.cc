// A channel's servers: pick_first over a target's addresses in order
// (ConnectFirst()), and round_robin over every address they resolve to,
// each backend with its own connection and reconnection backoff
// (Channel::PickBackend()). See LoadBalancing in client/channel.h.
#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/channel_state.h"
#include "transport/socket.h"
#include "transport/tls_session.h"

namespace sockrpc {
namespace {

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

absl::Status Channel::State::ResolveBackendsLocked(
    const ChannelResolver& resolver) {
  absl::StatusOr<std::vector<ChannelBackend>> listed = resolver();
  resolved_at = absl::Now();
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
      backends.push_back({std::move(name),
                          [literal = std::move(literal)](absl::Time deadline) {
                            return Connect(literal, deadline);
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
  // The backends this call tried and saw fail: not tried again by it.
  std::vector<std::string> tried;
  std::vector<std::string> reasons;
  for (;;) {
    const absl::Time now = absl::Now();
    if (state.backends.empty() ||
        now >= state.resolved_at + options_.resolve_interval) {
      absl::Status resolved = state.ResolveBackendsLocked(resolver_);
      if (!resolved.ok() && state.backends.empty()) {
        return absl::UnavailableError(resolved.message());
      }
    }
    std::vector<std::string> waiting;  // backing off
    absl::Time backoff_ends = absl::InfiniteFuture();  // the first to end
    size_t connecting = 0;             // by other calls
    std::optional<size_t> to_connect;
    const size_t count = state.backends.size();
    for (size_t i = 0; i < count; ++i) {
      const size_t index = (state.next_backend + i) % count;
      State::Backend& backend = state.backends[index];
      if (backend.connection != nullptr) {
        if (backend.connection->TakesNewCalls()) {
          state.next_backend = index + 1;
          return backend.connection;
        }
        // Lost: connected again at once (a failure starts the backoff).
        state.backends_for_fork[index].store(nullptr,
                                             std::memory_order_release);
        backend.connection.reset();
      }
      if (backend.connecting) {
        ++connecting;
      } else if (absl::c_linear_search(tried, backend.name)) {
        // Its failure is in `reasons` already.
      } else if (now < backend.retry_at) {
        backoff_ends = std::min(backoff_ends, backend.retry_at);
        // (A connector's error names its address.)
        waiting.push_back(
            absl::StrCat(backend.last_error.message(), " (tried again in ",
                         absl::FormatDuration(absl::Ceil(
                             backend.retry_at - now, absl::Milliseconds(1))),
                         ")"));
      } else {
        to_connect = index;  // its turn: connect it
        break;
      }
    }
    if (to_connect.has_value()) {
      tried.push_back(state.backends[*to_connect].name);
      absl::StatusOr<std::shared_ptr<ClientConnection>> connected =
          ConnectBackend(state, *to_connect, deadline);
      if (connected.ok() || absl::IsDeadlineExceeded(connected.status())) {
        return connected;
      }
      reasons.push_back(std::string(connected.status().message()));
      continue;  // the list may have changed while the lock was out
    }
    if (connecting == 0) {
      // None is up: list the backends afresh at the next call.
      state.resolved_at = absl::InfinitePast();
      reasons.insert(reasons.end(), waiting.begin(), waiting.end());
      return absl::UnavailableError(
          absl::StrCat("no backend of ", target_,
                       " is reachable: ", absl::StrJoin(reasons, "; ")));
    }
    // Other calls are connecting: wait until an attempt ends (or a
    // backoff does), then look again.
    const uint64_t attempts_ended = state.attempts_ended;
    const bool ended = state.mu.AwaitWithDeadline(
        [&state, attempts_ended]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
          return state.attempts_ended != attempts_ended;
        },
        std::min(deadline, backoff_ends));
    if (!ended && absl::Now() >= deadline) {
      return ConnectDeadlineExceeded();
    }
  }
}

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::ConnectBackend(
    State& state, size_t index, absl::Time deadline) {
  State::Backend& backend = state.backends[index];
  backend.connecting = true;
  const std::string name = backend.name;
  const ChannelConnector connector = backend.connector;
  // Without the lock: other calls go on with the other backends meanwhile.
  state.mu.Unlock();
  const absl::Time attempt_deadline_by_options =
      absl::Now() + options_.connect_timeout;
  const absl::Time attempt_deadline =
      std::min(deadline, attempt_deadline_by_options);
  std::unique_ptr<TlsSession> tls;
  absl::StatusOr<Fd> fd = Connect(connector, name, attempt_deadline, &tls);
  state.mu.Lock();
  const absl::Time now = absl::Now();
  // Found again by name: a resolution meanwhile may have moved it, or
  // dropped it (then the connection, if any, serves this call alone).
  State::Backend* found = nullptr;
  size_t found_index = 0;
  for (size_t i = 0; i < state.backends.size(); ++i) {
    if (state.backends[i].name == name && state.backends[i].connecting) {
      found = &state.backends[i];
      found_index = i;
      break;
    }
  }
  if (found != nullptr) found->connecting = false;
  ++state.attempts_ended;
  if (!fd.ok()) {
    // An attempt cut short by this call's own deadline says nothing of
    // the backend: no backoff for it.
    const bool out_of_time = absl::IsDeadlineExceeded(fd.status()) &&
                             deadline < attempt_deadline_by_options;
    if (found != nullptr && !out_of_time) {
      found->last_error = fd.status();
      found->backoff = NextBackoff(found->backoff, options_.reconnect_backoff);
      found->retry_at =
          now + Jittered(found->backoff, options_.reconnect_backoff.jitter,
                         state.jitter);
    }
    if (now >= deadline) {
      return ConnectDeadlineExceeded();
    }
    return absl::UnavailableError(fd.status().message());
  }
  auto connection = std::make_shared<ClientConnection>(
      *std::move(fd), name, options_, state.loop, std::move(tls));
  if (found != nullptr) {
    found->backoff = absl::ZeroDuration();
    found->retry_at = absl::InfinitePast();
    found->last_error = absl::OkStatus();
    found->connection = connection;
    state.backends_for_fork[found_index].store(connection.get(),
                                               std::memory_order_release);
    state.next_backend = found_index + 1;
  }
  return connection;
}

}  // namespace sockrpc
