// A channel's servers: pick_first over a target's addresses in order
// (ConnectFirst()), and round_robin over every address they resolve to,
// each backend with its own connection and reconnection backoff
// (Channel::PickBackend()). See LoadBalancing in client/channel.h.
#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/channel_state.h"
#include "transport/socket.h"

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
  if (backends.empty()) return error;
  return backends;
}

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::PickBackend(
    State& state, absl::Time deadline) {
  MutexLock lock(&state.mu);
  absl::Time now = absl::Now();
  if (state.backends.empty() ||
      now >= state.resolved_at + options_.resolve_interval) {
    absl::Status resolved = state.ResolveBackendsLocked(resolver_);
    if (!resolved.ok() && state.backends.empty()) {
      return absl::UnavailableError(resolved.message());
    }
  }
  std::vector<std::string> reasons;
  const size_t count = state.backends.size();
  for (size_t i = 0; i < count; ++i) {
    const size_t index = (state.next_backend + i) % count;
    State::Backend& backend = state.backends[index];
    if (backend.connection != nullptr) {
      if (backend.connection->usable() &&
          (backend.connection->is_unix() ||
           !backend.connection->PeerClosedWhileIdle())) {
        state.next_backend = index + 1;
        return backend.connection;
      }
      // Lost: connected again at once (a failure starts the backoff).
      state.backends_for_fork[index].store(nullptr, std::memory_order_release);
      backend.connection.reset();
    } else if (now < backend.retry_at) {
      // (A connector's error names its address.)
      reasons.push_back(
          absl::StrCat(backend.last_error.message(), " (tried again in ",
                       absl::FormatDuration(absl::Ceil(backend.retry_at - now,
                                                       absl::Milliseconds(1))),
                       ")"));
      continue;
    }
    absl::StatusOr<Fd> fd =
        backend.connector(std::min(deadline, now + options_.connect_timeout));
    now = absl::Now();
    if (!fd.ok()) {
      backend.last_error = fd.status();
      backend.backoff =
          NextBackoff(backend.backoff, options_.reconnect_backoff);
      backend.retry_at =
          now + Jittered(backend.backoff, options_.reconnect_backoff.jitter,
                         state.jitter);
      reasons.push_back(std::string(fd.status().message()));
      if (now >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("deadline exceeded while connecting to ", target_));
      }
      continue;
    }
    backend.backoff = absl::ZeroDuration();
    backend.retry_at = absl::InfinitePast();
    backend.last_error = absl::OkStatus();
    backend.connection = std::make_shared<ClientConnection>(
        *std::move(fd), backend.name, options_, state.loop);
    state.backends_for_fork[index].store(backend.connection.get(),
                                         std::memory_order_release);
    state.next_backend = index + 1;
    return backend.connection;
  }
  // None is up: list the backends afresh at the next call.
  state.resolved_at = absl::InfinitePast();
  return absl::UnavailableError(
      absl::StrCat("no backend of ", target_,
                   " is reachable: ", absl::StrJoin(reasons, "; ")));
}

}  // namespace sockrpc
