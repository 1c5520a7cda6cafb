// Blocking socket helpers shared by the in-process fuzz targets (which
// talk to a real sockrpc server or client over an abstract unix socket),
// able to pass descriptors (SCM_RIGHTS) with the bytes.
// Test-only; each target aborts on a failure of its own harness, so that a
// harness problem is never mistaken for a clean run.
#ifndef SOCKRPC_TESTS_FUZZ_FUZZ_SOCKET_H_
#define SOCKRPC_TESTS_FUZZ_FUZZ_SOCKET_H_

#include <fcntl.h>
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
#include <vector>

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

// Where a descriptor-passing client would pass descriptors: a sendmsg()
// that begins at byte `offset` of the input carries `count` of them.
struct FdsAt {
  size_t offset;
  int count;
};

// Sends `count` descriptors (of /dev/null) with bytes[from, to) in one
// sendmsg(); the count of bytes sent, or -1 with errno.
inline ssize_t SendWithDevNullFds(int fd, const std::string& bytes, size_t from,
                                  size_t to, int count) {
  constexpr int kMaxFds = 8;
  int fds[kMaxFds];
  count = count < 0 ? 0 : (count > kMaxFds ? kMaxFds : count);
  for (int i = 0; i < count; ++i) {
    fds[i] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) Fail("open /dev/null");
  }
  iovec iov{const_cast<char*>(bytes.data() + from), to - from};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(fds))];
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (count > 0) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
  }
  const ssize_t put = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  const int saved = errno;
  for (int i = 0; i < count; ++i) ::close(fds[i]);  // the peer has its own
  errno = saved;
  return put;
}

// Sends `bytes` on `fd` while reading (and dropping) what comes back, then
// half-closes; returns once the peer has closed too, or false if it has
// not within `timeout_ms`. Each write that begins at one of `fds_at`'s
// offsets (in rising order) carries its descriptors.
inline bool ExchangeAndDrain(int fd, const std::string& bytes, int timeout_ms,
                             const std::vector<FdsAt>& fds_at = {}) {
  size_t next_fds = 0;
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
      while (next_fds < fds_at.size() && fds_at[next_fds].offset < sent) {
        ++next_fds;  // passed (a write went over it)
      }
      const bool carries =
          next_fds < fds_at.size() && fds_at[next_fds].offset == sent;
      // A write stops before the next descriptors' offset.
      size_t end = bytes.size();
      const size_t after = next_fds + (carries ? 1 : 0);
      if (after < fds_at.size()) end = fds_at[after].offset;
      ssize_t put = SendWithDevNullFds(fd, bytes, sent, end,
                                       carries ? fds_at[next_fds].count : 0);
      if (put > 0 && carries) ++next_fds;
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
