// Blocking socket helpers shared by the in-process fuzz targets (which
// talk to a real sockrpc server or client over an abstract unix socket).
// Test-only; each target aborts on a failure of its own harness, so that a
// harness problem is never mistaken for a clean run.
#ifndef SOCKRPC_TESTS_FUZZ_FUZZ_SOCKET_H_
#define SOCKRPC_TESTS_FUZZ_FUZZ_SOCKET_H_

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sockrpc {
namespace fuzz {

// Aborts with `what` and errno's text.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz harness: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

// The sockaddr of abstract unix socket `name`.
inline socklen_t AbstractAddress(const std::string& name, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                name.size());
}

// A blocking connection to abstract socket `name`.
inline int ConnectAbstract(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket");
  sockaddr_un addr;
  socklen_t length = AbstractAddress(name, &addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    Fail("connect");
  }
  return fd;
}

// Sends `bytes` on `fd` while reading (and dropping) what comes back, then
// half-closes; returns once the peer has closed too, or false if it has
// not within `timeout_ms`.
inline bool ExchangeAndDrain(int fd, const std::string& bytes,
                             int timeout_ms) {
  size_t sent = 0;
  bool write_closed = false;
  char buffer[64 * 1024];
  for (int waited = 0; waited <= timeout_ms;) {
    if (sent == bytes.size() && !write_closed) {
      shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    int ready = poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) Fail("poll");
    if (ready <= 0) {
      waited += 100;
      continue;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        return true;  // closed (or reset) by the peer
      }
    }
    if (!write_closed && (p.revents & POLLOUT)) {
      ssize_t put = send(fd, bytes.data() + sent, bytes.size() - sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (put > 0) {
        sent += static_cast<size_t>(put);
      } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
        sent = bytes.size();  // the peer closed first; just drain
      }
    }
  }
  return false;
}

}  // namespace fuzz
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_FUZZ_FUZZ_SOCKET_H_
