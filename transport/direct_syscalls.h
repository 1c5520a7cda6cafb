// The system calls of every call's hot path (receive, send, poll, epoll
// wait), made directly instead of through libc's wrappers.
//
// libc's wrappers of these are thread-cancellation points: in a process
// with more than one thread each one turns asynchronous cancellation on
// before the call and off after it, about 30 instructions a system call,
// some 90 a unary call on a server. sockrpc never cancels a thread
// (pthread_cancel), so the direct call does the same work without them.
// On x86-64 the call is the `syscall` instruction itself, inline (the
// kernel's calling convention, as musl's internal syscalls make it);
// elsewhere syscall(2). Each returns what the system call
// returns, -1 with errno set on failure, as the libc function would.
//
// Under ThreadSanitizer the libc functions are used: TSan's interceptors
// of them order a send on a socket before the receive that gets it, which
// tests rely on and which TSan cannot see in a direct system call.
#ifndef SOCKRPC_TRANSPORT_DIRECT_SYSCALLS_H_
#define SOCKRPC_TRANSPORT_DIRECT_SYSCALLS_H_

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "transport/thread_sanitizer.h"

namespace sockrpc {
namespace direct {

// The kernel's sigset size, for the calls that take a (null) signal mask.
inline constexpr long kKernelSigsetSize = 8;

// System call `number` with six arguments (unused ones ignored by the
// kernel): the result, or -1 with errno set from the kernel's -errno.
inline long Syscall6(long number, long a, long b, long c, long d, long e,
                     long f) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9)
                   : "rcx", "r11", "memory");
  if (static_cast<unsigned long>(result) > -4096UL) {  // -4095..-1: -errno
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
#else
  return ::syscall(number, a, b, c, d, e, f);
#endif
}

inline long Arg(const void* pointer) { return reinterpret_cast<long>(pointer); }

inline ssize_t Recv(int fd, void* buffer, size_t size, int flags) {
#ifdef SOCKRPC_THREAD_SANITIZER
  return ::recv(fd, buffer, size, flags);
#else
  return Syscall6(SYS_recvfrom, fd, Arg(buffer), static_cast<long>(size), flags,
                  0, 0);
#endif
}

inline ssize_t SendMsg(int fd, const msghdr* message, int flags) {
#ifdef SOCKRPC_THREAD_SANITIZER
  return ::sendmsg(fd, message, flags);
#else
  return Syscall6(SYS_sendmsg, fd, Arg(message), flags, 0, 0, 0);
#endif
}

// poll(2), through ppoll (which every Linux architecture has).
inline int Poll(pollfd* entries, nfds_t count, int timeout_ms) {
#ifdef SOCKRPC_THREAD_SANITIZER
  return ::poll(entries, count, timeout_ms);
#else
  timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  return static_cast<int>(Syscall6(
      SYS_ppoll, Arg(entries), static_cast<long>(count),
      Arg(timeout_ms < 0 ? nullptr : &timeout), 0, kKernelSigsetSize, 0));
#endif
}

// epoll_wait(2), through epoll_pwait (which every Linux architecture has).
inline int EpollWait(int epoll_fd, epoll_event* events, int max_events,
                     int timeout_ms) {
#ifdef SOCKRPC_THREAD_SANITIZER
  return ::epoll_wait(epoll_fd, events, max_events, timeout_ms);
#else
  return static_cast<int>(Syscall6(SYS_epoll_pwait, epoll_fd, Arg(events),
                                   max_events, timeout_ms, 0,
                                   kKernelSigsetSize));
#endif
}

}  // namespace direct
}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_DIRECT_SYSCALLS_H_
