#include "transport/poller.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <utility>

#include "transport/direct_syscalls.h"
#include "transport/posix_error.h"

namespace sockrpc {

absl::StatusOr<Poller> Poller::Create() {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return PosixError("epoll_create1", errno);
  return Poller(Fd(fd));
}

absl::Status Poller::Add(int fd, uint32_t events, uint64_t tag) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return PosixError("epoll_ctl(ADD)", errno);
  }
  return absl::OkStatus();
}

absl::Status Poller::Modify(int fd, uint32_t events, uint64_t tag) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return PosixError("epoll_ctl(MOD)", errno);
  }
  return absl::OkStatus();
}

void Poller::Remove(int fd) {
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

absl::StatusOr<int> Poller::Wait(epoll_event* events, int max_events,
                                 int timeout_ms) {
  int n = direct::EpollWait(epoll_fd_.get(), events, max_events, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    return PosixError("epoll_wait", errno);
  }
  return n;
}

absl::StatusOr<Fd> MakeEventFd(bool semaphore) {
  int flags = EFD_NONBLOCK | EFD_CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0);
  int fd = eventfd(0, flags);
  if (fd < 0) return PosixError("eventfd", errno);
  return Fd(fd);
}

void SignalEventFd(int fd, uint64_t n) {
  ssize_t written;
  do {
    written = write(fd, &n, sizeof(n));
  } while (written < 0 && errno == EINTR);
}

bool DrainEventFd(int fd) {
  uint64_t value;
  ssize_t got;
  do {
    got = read(fd, &value, sizeof(value));
  } while (got < 0 && errno == EINTR);
  return got == sizeof(value);
}

}  // namespace sockrpc
