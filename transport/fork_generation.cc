#include "transport/fork_generation.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace sockrpc {
namespace internal {

std::atomic<uint64_t> fork_generation{0};

}  // namespace internal

namespace {

// Runs in the child, on the thread that called fork(), before fork()
// returns: the only thread of the child. Async-signal-safe (an atomic add).
void CountFork() {
  internal::fork_generation.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

uint64_t WatchForks() {
  // A function-local static: registered once, thread-safe. The handler is
  // never removed (pthread_atfork has no unregister); it costs one atomic
  // add per fork().
  static const bool registered =
      pthread_atfork(nullptr, nullptr, &CountFork) == 0;
  (void)registered;
  return ForkGeneration();
}

void DetachInheritedDescriptors(absl::Span<const int> fds) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
  close(pair[1]);  // reads of the rest see end of file, writes EPIPE
  for (int fd : fds) {
    if (fd < 0 || fd == pair[0]) continue;
    while (dup3(pair[0], fd, O_CLOEXEC) < 0 && errno == EINTR) {
    }
  }
  close(pair[0]);
}

}  // namespace sockrpc
