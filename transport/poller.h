// Poller: a thin owner of one epoll instance, for runtimes that wait on
// many sockets at once. Each registration carries a 64-bit tag that comes
// back with its events.
//
// Thread-safe: epoll itself is; any number of threads may Wait() on one
// Poller, and each event wakes only one of them.
#ifndef SOCKRPC_TRANSPORT_POLLER_H_
#define SOCKRPC_TRANSPORT_POLLER_H_

#include <sys/epoll.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "transport/fd.h"

namespace sockrpc {

class Poller {
 public:
  static absl::StatusOr<Poller> Create();

  // Registers `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLONESHOT, ...).
  absl::Status Add(int fd, uint32_t events, uint64_t tag);
  // Changes the events of a registered `fd` (and re-arms a one-shot one).
  absl::Status Modify(int fd, uint32_t events, uint64_t tag);
  // Unregisters `fd`. Not an error if it was not registered.
  void Remove(int fd);
  // The epoll instance's descriptor (owned by this Poller).
  int fd() const { return epoll_fd_.get(); }

  // Waits for at most `max_events` events, up to `timeout_ms` (-1: for
  // ever). Returns how many were stored in `events`; 0 on time-out. EINTR
  // returns 0 too.
  absl::StatusOr<int> Wait(epoll_event* events, int max_events,
                           int timeout_ms);

 private:
  explicit Poller(Fd epoll_fd) : epoll_fd_(std::move(epoll_fd)) {}
  Fd epoll_fd_;
};

// MakeEventFd returns a non-blocking, close-on-exec eventfd with counter 0
// (`semaphore`: each read takes 1 instead of the whole count).
absl::StatusOr<Fd> MakeEventFd(bool semaphore);
// Adds `n` to an eventfd's counter.
void SignalEventFd(int fd, uint64_t n = 1);
// Takes from an eventfd's counter; returns false if it was 0.
bool DrainEventFd(int fd);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_POLLER_H_
