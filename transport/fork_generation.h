// ForkGeneration: how many times this process's line of ancestors has
// forked, as seen from the current process, for objects that must notice
// that they now live in a child of the process that made them (a Channel:
// client/channel.h, "Using a channel after fork()").
//
// Why global state: fork() is a property of the process, and the only
// place that sees it without a system call per check is a
// pthread_atfork() child handler, which is process-wide. The counter is
// therefore one process-wide atomic, written only by that handler (which
// runs in the new child before fork() returns there, while the child has
// one thread) and read with one relaxed load by whoever asks. Objects
// compare it with the value they saw when made; no getpid() per call.
//
// Limits: only fork() (and anything that runs the atfork handlers) is
// seen; a child made by a raw clone() system call is not. vfork() and
// posix_spawn() children run no handler, but they exec or _exit at once.
//
// Thread-safe.
#ifndef SOCKRPC_TRANSPORT_FORK_GENERATION_H_
#define SOCKRPC_TRANSPORT_FORK_GENERATION_H_

#include <atomic>
#include <cstdint>

#include "absl/types/span.h"

namespace sockrpc {
namespace internal {
// Bumped by the child handler that WatchForks() registers.
extern std::atomic<uint64_t> fork_generation;
}  // namespace internal

// WatchForks registers the child handler that counts forks, the first time
// it is called in the process (later calls cost a check of a static), and
// returns ForkGeneration(): the value an object records when it is made.
uint64_t WatchForks();

// ForkGeneration returns the number of fork()s between the first
// WatchForks() and the current process: 0 in the process that called it,
// 1 in its children, 2 in their children. One relaxed atomic load.
inline uint64_t ForkGeneration() {
  return internal::fork_generation.load(std::memory_order_relaxed);
}

// DetachInheritedDescriptors, in a forked child, drops the child's
// references to the file descriptions behind `fds` (descriptors it
// inherited and must not use: a socket, an epoll instance the parent
// still uses) without closing the numbers: each becomes, by dup3(), a
// close-on-exec copy of one end of a socketpair whose other end is
// closed. The parent's descriptions are not touched (no shutdown(), no
// epoll_ctl()), and an object of the parent that the child keeps but never
// frees cannot reach a descriptor the child opens later under the same
// number. Negative numbers are skipped. If no socketpair can be made, the
// descriptors stay as they are (open until exit or exec).
void DetachInheritedDescriptors(absl::Span<const int> fds);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FORK_GENERATION_H_
