// Channel::State: a channel's state in one process (the connection or the
// round_robin backends, the event loop), and the helpers that turn a
// target's addresses into connections. Internal to the client: channel.cc
// and channel_backends.cc share it.
#ifndef SOCKRPC_CLIENT_CHANNEL_STATE_H_
#define SOCKRPC_CLIENT_CHANNEL_STATE_H_

#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_connection.h"
#include "client/client_event_loop.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/sync.h"

namespace sockrpc {

struct Channel::State {
  // The event loop of the callback API: made here, started on first use.
  const std::shared_ptr<ClientEventLoop> loop =
      std::make_shared<ClientEventLoop>();
  // The process this state was made in (one getpid() per state), for the
  // message of AfterFork::kFail.
  const pid_t pid = getpid();
  // Set in a forked child whose channel has AfterFork::kFail: every call
  // fails with it.
  absl::Status fork_failure;
  Mutex mu;
  // The connection new calls use; null before the first call.
  std::shared_ptr<ClientConnection> connection ABSL_GUARDED_BY(mu);
  // connection.get(), readable without mu by a forked child abandoning this
  // state (mu may be held for ever there): null while it changes.
  std::atomic<ClientConnection*> connection_for_fork{nullptr};
  // round_robin: the backends, the one to try first, and when they were
  // listed (client/channel_backends.cc).
  struct Backend {
    std::string name;
    decltype(ChannelBackend::connector) connector;
    std::shared_ptr<ClientConnection> connection;   // null: not connected
    absl::Time retry_at = absl::InfinitePast();     // backoff: not before
    absl::Duration backoff = absl::ZeroDuration();  // the last wait
    absl::Time connected_at = absl::InfinitePast();  // of `connection`
    absl::Status last_error;  // of the last failed attempt
    bool connecting = false;  // an attempt's thread connects to it
  };
  std::vector<Backend> backends ABSL_GUARDED_BY(mu);
  size_t next_backend ABSL_GUARDED_BY(mu) = 0;
  // Counts the connection attempts and the listings that ended (calls
  // waiting for one watch it change).
  uint64_t attempts_ended ABSL_GUARDED_BY(mu) = 0;
  absl::Time resolved_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  std::minstd_rand jitter ABSL_GUARDED_BY(mu){std::random_device()()};
  // round_robin's background work, a thread each: connection attempts
  // (Channel::ConnectInBackground()) and the list's refreshes. Those
  // started, and those whose work is over (joined by the next start, or
  // by the destructor with the rest).
  std::vector<std::thread> threads ABSL_GUARDED_BY(mu);
  std::vector<std::thread::id> threads_over ABSL_GUARDED_BY(mu);
  // Runs `work` on a new thread named `name`; false (nothing runs) once
  // `closing`, or if the system refuses a thread.
  bool StartThreadLocked(const char* name, std::function<void()> work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The resolver runs (without mu): calls wait for it only while there is
  // no list yet.
  bool resolving ABSL_GUARDED_BY(mu) = false;
  // An eventfd, made with the first attempt and written once by the
  // destructor: it ends the attempts' waits for their servers. No attempt
  // starts once `closing`.
  Fd cancel_connects ABSL_GUARDED_BY(mu);
  std::atomic<int> cancel_connects_for_fork{-1};  // its number, for Abandon()
  bool closing ABSL_GUARDED_BY(mu) = false;
  // backends[i].connection.get() as connection_for_fork is connection's.
  std::array<std::atomic<ClientConnection*>, kMaxBackends> backends_for_fork{};
  // Takes the resolver's new list of the backends, keeping the connection
  // and backoff of each that stays (by name); a failure keeps the old
  // list and is returned. Wakes the calls waiting for attempts.
  // (client/channel_backends.cc)
  absl::Status ApplyResolutionLocked(
      absl::StatusOr<std::vector<ChannelBackend>> listed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // After a failed attempt: `backend` waits out its next backoff.
  void BackOffLocked(Backend& backend, const ReconnectBackoff& policy)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Callback calls between StartCall() and their stream being open
  // (OpenCallbackStream()): the destructor waits for them, even on the
  // loop thread, since they use the Channel.
  int opening ABSL_GUARDED_BY(mu) = 0;
  // Abandoned states, linked from `abandoned` below (see Abandon()).
  State* next_abandoned = nullptr;
};

// Connects to the first of `addresses` that takes the connection (each
// tried as Connect() tries a name's addresses); the error names each and
// why.
absl::StatusOr<Fd> ConnectFirst(const std::vector<Address>& addresses,
                                absl::Time deadline);

// The round_robin backends of `addresses`: every address each resolves to
// (a name resolved now), in order, each connected on its own.
absl::StatusOr<std::vector<ChannelBackend>> ResolveBackendsOf(
    const std::vector<Address>& addresses);

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CHANNEL_STATE_H_
