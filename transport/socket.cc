#include "transport/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "transport/direct_syscalls.h"
#include "transport/posix_error.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace {

constexpr int kSocketFlags = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;

// Milliseconds from now until `deadline` for poll(): -1 for "forever",
// rounded up so that a wait never ends before the deadline.
int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  const int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

Fd OpenReserveFd() { return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

// RPC frames are small and each one is wanted at once: turn off Nagle's
// algorithm on TCP sockets (a no-op error on unix sockets, ignored).
void DisableNagle(int fd) {
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

// What a filesystem socket path holds before we bind it.
enum class PathState { kFree, kStaleSocket };

// Applies the rules of Listener::Bind to an existing path: a live socket is
// ALREADY_EXISTS, a stale one is reported (for removal), anything that is
// not a socket is FAILED_PRECONDITION and is never touched.
absl::StatusOr<PathState> InspectSocketPath(const Address& address,
                                            const SocketAddress& sockaddr) {
  struct stat st;
  if (::lstat(address.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return PathState::kFree;
    return PosixError(absl::StrCat("stat ", address.path), errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", address.ToString(), ": ", address.path,
        " exists and is not a socket; refusing to replace it"));
  }
  // A socket file: is a server still accepting on it? A unix connect
  // completes (or reports EAGAIN, backlog full) at once if so, and is
  // refused if the file is left over from a server that is gone.
  Fd probe(::socket(AF_UNIX, kSocketFlags, 0));
  if (!probe.valid()) return PosixError("socket", errno);
  int rc;
  do {
    rc = ::connect(probe.get(), sockaddr.get(), sockaddr.length);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
    return absl::AlreadyExistsError(absl::StrCat(
        "address already in use by a running server: ", address.ToString()));
  }
  if (errno == ECONNREFUSED) return PathState::kStaleSocket;
  return PosixError(absl::StrCat("probe ", address.ToString()), errno);
}

// Identity of a file, to recognise the socket file we created.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
};

bool SameFile(const std::string& path, FileId id) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && st.st_dev == id.dev &&
         st.st_ino == id.ino;
}

// socket -> bind -> listen for one resolved sockaddr. On success sets *fd,
// and *id for a filesystem socket.
absl::Status BindOne(const Address& address, const SocketAddress& sockaddr,
                     const ListenOptions& options, Fd* fd, FileId* id) {
  const std::string name = address.ToString();
  const bool is_path = address.kind == Address::Kind::kUnixPath;

  // 1. socket(): a non-blocking, close-on-exec stream socket.
  Fd sock(::socket(sockaddr.family(), kSocketFlags, 0));
  if (!sock.valid()) return PosixError("socket", errno);

  // TCP: allow rebinding a port whose old connections are in TIME_WAIT.
  // (IPv6 listeners keep the system's IPV6_V6ONLY default.)
  if (!address.is_unix()) {
    const int on = 1;
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) !=
        0) {
      return PosixError("setsockopt SO_REUSEADDR", errno);
    }
  }

  // A filesystem path that already exists: live, stale or not a socket.
  if (is_path) {
    SOCKRPC_ASSIGN_OR_RETURN(PathState state,
                             InspectSocketPath(address, sockaddr));
    if (state == PathState::kStaleSocket &&
        ::unlink(address.path.c_str()) != 0 && errno != ENOENT) {
      return PosixError(absl::StrCat("remove stale socket ", address.path),
                        errno);
    }
  }

  // 2. bind(): give the socket its address (creates the socket file).
  if (::bind(sock.get(), sockaddr.get(), sockaddr.length) != 0) {
    if (errno == EADDRINUSE && address.is_unix()) {
      // Someone bound the name between our check and our bind.
      return absl::AlreadyExistsError(
          absl::StrCat("address already in use by a running server: ", name));
    }
    return PosixError(absl::StrCat("bind ", name), errno);
  }

  FileId created;
  if (is_path) {
    struct stat st;
    if (::lstat(address.path.c_str(), &st) != 0) {
      return PosixError(absl::StrCat("stat ", address.path), errno);
    }
    created = FileId{st.st_dev, st.st_ino};
    // Set the mode before listen(): until then every connect is refused, so
    // no client gets in under the umask's mode.
    if (options.socket_file_mode.has_value() &&
        ::chmod(address.path.c_str(), *options.socket_file_mode) != 0) {
      const int err = errno;
      if (SameFile(address.path, created)) ::unlink(address.path.c_str());
      return PosixError(absl::StrCat("chmod ", address.path), err);
    }
    if (options.socket_file_group.has_value() &&
        ::lchown(address.path.c_str(), static_cast<uid_t>(-1),
                 *options.socket_file_group) != 0) {
      const int err = errno;
      if (SameFile(address.path, created)) ::unlink(address.path.c_str());
      return PosixError(absl::StrCat("chown ", address.path), err);
    }
  }

  // 3. listen(): start queueing connections for accept().
  if (::listen(sock.get(), options.backlog) != 0) {
    const int err = errno;
    if (is_path && SameFile(address.path, created)) {
      ::unlink(address.path.c_str());
    }
    return PosixError(absl::StrCat("listen ", name), err);
  }
  *fd = std::move(sock);
  *id = created;
  return absl::OkStatus();
}

// The address a TCP socket is bound to, with its real port.
absl::StatusOr<Address> LocalAddress(int fd) {
  SocketAddress local;
  local.length = sizeof(local.storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local.storage),
                    &local.length) != 0) {
    return PosixError("getsockname", errno);
  }
  return FromSocketAddress(local);
}

// The reason a connect() to `sockaddr` failed with `err`. A unix path that
// exists but is no socket (a regular file, say) is refused by connect();
// say so rather than "Connection refused", which suggests a server that is
// down.
std::string ConnectFailureText(const SocketAddress& sockaddr, int err) {
  if (err != ECONNREFUSED || sockaddr.family() != AF_UNIX) {
    return ErrnoText(err);
  }
  const Address address = FromSocketAddress(sockaddr);
  struct stat st;
  if (address.kind != Address::Kind::kUnixPath || address.path.empty() ||
      ::stat(address.path.c_str(), &st) != 0 || S_ISSOCK(st.st_mode)) {
    return ErrnoText(err);
  }
  return absl::StrCat(address.path, " is not a socket (",
                      S_ISDIR(st.st_mode) ? "a directory" : "a file",
                      "): no server listens there");
}

absl::Status CancelledAttempt() {
  return absl::CancelledError("the connection attempt was cancelled");
}

// socket -> connect to one sockaddr, waiting until `deadline` (or until
// `cancel_fd`, if not -1, is readable: CANCELLED). A failure's
// message is only the reason ("Connection refused"); Connect() adds the
// address. Failures to reach the peer are UNAVAILABLE, or DEADLINE_EXCEEDED.
absl::StatusOr<Fd> ConnectOne(const SocketAddress& sockaddr,
                              absl::Time deadline, int cancel_fd) {
  // 1. socket(): a non-blocking, close-on-exec stream socket.
  Fd sock(::socket(sockaddr.family(), kSocketFlags, 0));
  if (!sock.valid()) {
    const int err = errno;
    return absl::Status(PosixError("", err).code(),
                        absl::StrCat("socket: ", ErrnoText(err)));
  }

  // 2. connect(): non-blocking, so it either completes now (typical for
  // unix sockets), fails now, or goes on in the background (TCP).
  absl::Duration backoff = absl::Milliseconds(1);
  for (;;) {
    if (::connect(sock.get(), sockaddr.get(), sockaddr.length) == 0) {
      return sock;
    }
    const int err = errno;
    // EINTR: the connection attempt goes on in the background.
    if (err == EINPROGRESS || err == EINTR) break;
    if (err != EAGAIN || sockaddr.family() != AF_UNIX) {
      return absl::UnavailableError(ConnectFailureText(sockaddr, err));
    }
    // A unix server's accept queue is full. There is nothing to poll on, so
    // back off a little and retry until the deadline.
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          "timed out: the server's accept queue stayed full");
    }
    const absl::Duration nap = std::min(backoff, left);
    pollfd cancel = {cancel_fd, POLLIN, 0};  // (ignored if -1)
    if (::poll(&cancel, 1,
               static_cast<int>(absl::ToInt64Milliseconds(
                   absl::Ceil(nap, absl::Milliseconds(1))))) > 0) {
      return CancelledAttempt();
    }
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }

  // 3. Wait until the socket is writable: the handshake is over, one way or
  // the other, and SO_ERROR says which.
  bool cancelled = false;
  const absl::Status ready =
      WaitFor(sock.get(), POLLOUT, deadline, cancel_fd, &cancelled);
  if (absl::IsDeadlineExceeded(ready)) {
    return absl::DeadlineExceededError("timed out");
  }
  if (!ready.ok()) return absl::UnavailableError(ready.message());
  if (cancelled) return CancelledAttempt();
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    err = errno;
  }
  if (err != 0) return absl::UnavailableError(ErrnoText(err));
  return sock;
}

// A TCP client connecting to a port of its own host where nothing listens
// can be given that very port as its local port by the kernel; the SYN
// then meets itself (a TCP "simultaneous open") and connect() succeeds
// with the socket connected to itself, so every request would come back
// as its own reply. Such a connection stands for "nothing listens there".
bool ConnectedToItself(int fd) {
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t local_length = sizeof(local);
  socklen_t peer_length = sizeof(peer);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) !=
          0 ||
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) !=
          0) {
    return false;
  }
  return local_length == peer_length &&
         std::memcmp(&local, &peer, local_length) == 0;
}

}  // namespace

absl::StatusOr<Listener> Listener::Bind(const Address& address,
                                        const ListenOptions& options) {
  SOCKRPC_ASSIGN_OR_RETURN(std::vector<SocketAddress> sockaddrs,
                           Resolve(address));
  // A name may resolve to several addresses (localhost: ::1 and
  // 127.0.0.1); listen on the first that binds.
  absl::Status error;
  for (const SocketAddress& sockaddr : sockaddrs) {
    Fd fd;
    FileId id;
    error = BindOne(address, sockaddr, options, &fd, &id);
    if (!error.ok()) {
      if (address.is_unix()) return error;
      continue;
    }
    Address bound = address;
    if (!address.is_unix()) {
      SOCKRPC_ASSIGN_OR_RETURN(bound, LocalAddress(fd.get()));
    }
    return Listener(std::move(fd), std::move(bound), id.dev, id.ino);
  }
  return error;
}

absl::StatusOr<Listener> Listener::Adopt(Fd fd) {
  SOCKRPC_ASSIGN_OR_RETURN(Address bound, LocalAddress(fd.get()));
  // No file identity: Close() leaves the socket file alone.
  return Listener(std::move(fd), std::move(bound), 0, 0);
}

Listener::Listener(Fd fd, Address address, dev_t file_dev, ino_t file_ino)
    : fd_(std::move(fd)),
      address_(std::move(address)),
      file_dev_(file_dev),
      file_ino_(file_ino),
      reserve_fd_(OpenReserveFd()) {}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::move(other.fd_)),
      address_(std::move(other.address_)),
      file_dev_(std::exchange(other.file_dev_, 0)),
      file_ino_(std::exchange(other.file_ino_, 0)),
      reserve_fd_(std::move(other.reserve_fd_)) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::move(other.fd_);
    address_ = std::move(other.address_);
    file_dev_ = std::exchange(other.file_dev_, 0);
    file_ino_ = std::exchange(other.file_ino_, 0);
    reserve_fd_ = std::move(other.reserve_fd_);
  }
  return *this;
}

Listener::~Listener() { Close(); }

void Listener::Close() {
  // Remove the socket file first, so that no new client finds it, but only
  // if it is still the one we created: another server may have replaced it.
  if (address_.kind == Address::Kind::kUnixPath && file_ino_ != 0 &&
      SameFile(address_.path, FileId{file_dev_, file_ino_})) {
    ::unlink(address_.path.c_str());
  }
  file_dev_ = 0;
  file_ino_ = 0;
  fd_.reset();
  reserve_fd_.reset();
}

absl::StatusOr<Fd> Listener::Accept() {
  return Accept([](int) {});
}

absl::StatusOr<Fd> Listener::Accept(absl::FunctionRef<void(int fd)> shed) {
  if (!fd_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("accept on ", address_.ToString(), ": listener closed"));
  }
  for (;;) {
    const int fd =
        ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (!address_.is_unix()) DisableNagle(fd);
      return Fd(fd);
    }
    const int err = errno;
    switch (err) {
      case EINTR:         // a signal: try again
      case ECONNABORTED:  // the peer gave up while queued: take the next
      case EPROTO:
        continue;
      case EAGAIN:  // nothing queued (EWOULDBLOCK is the same on Linux)
        return Fd();
      case EMFILE:
      case ENFILE:
        // Out of descriptors (see the header).
        if (reserve_fd_.valid()) {
          reserve_fd_.reset();
          Fd waiting(::accept4(fd_.get(), nullptr, nullptr,
                               SOCK_NONBLOCK | SOCK_CLOEXEC));
          const bool shed_one = waiting.valid();
          if (shed_one) shed(waiting.get());
          waiting.reset();
          reserve_fd_ = OpenReserveFd();
          if (shed_one) {
            return PosixError(
                absl::StrCat("accept on ", address_.ToString(),
                             " (a waiting connection was refused)"),
                err);
          }
        }
        return PosixError(absl::StrCat("accept on ", address_.ToString()), err);
      default:
        return PosixError(absl::StrCat("accept on ", address_.ToString()), err);
    }
  }
}

std::optional<Address> PeerAddressOf(int fd) {
  SocketAddress peer;
  peer.length = sizeof(peer.storage);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer.storage),
                    &peer.length) != 0) {
    return std::nullopt;
  }
  return FromSocketAddress(peer);
}

bool IsUnixSocket(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return false;
  }
  return storage.ss_family == AF_UNIX;
}

absl::StatusOr<ConnectedPair> SocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, kSocketFlags, 0, fds) != 0) {
    return PosixError("socketpair", errno);
  }
  return ConnectedPair{Fd(fds[0]), Fd(fds[1])};
}

absl::StatusOr<Fd> Connect(const Address& address, absl::Time deadline,
                           int cancel_fd) {
  const std::string name = address.ToString();
  SOCKRPC_ASSIGN_OR_RETURN(std::vector<SocketAddress> sockaddrs,
                           Resolve(address));
  // Try each resolved address in turn. If a name resolved to several, the
  // error lists why each one failed.
  std::vector<std::string> reasons;
  absl::Status last;
  for (const SocketAddress& sockaddr : sockaddrs) {
    absl::StatusOr<Fd> fd = ConnectOne(sockaddr, deadline, cancel_fd);
    if (fd.ok() && sockaddr.family() != AF_UNIX &&
        ConnectedToItself(fd->get())) {
      fd = absl::UnavailableError(
          "Connection refused (nothing listens there: the connection reached "
          "its own socket)");
    }
    if (fd.ok()) {
      if (sockaddr.family() != AF_UNIX) DisableNagle(fd->get());
      return fd;
    }
    last = fd.status();
    if (sockaddrs.size() > 1) {
      reasons.push_back(absl::StrCat(FromSocketAddress(sockaddr).ToString(),
                                     ": ", last.message()));
    } else {
      reasons.push_back(std::string(last.message()));
    }
    if (absl::IsDeadlineExceeded(last) || absl::IsCancelled(last)) break;
  }
  return absl::Status(last.code(),
                      absl::StrCat("failed to connect to ", name, ": ",
                                   absl::StrJoin(reasons, "; ")));
}

absl::StatusOr<ssize_t> ReadSome(int fd, char* buffer, size_t size) {
  for (;;) {
    const ssize_t n = direct::Recv(fd, buffer, size, 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    return absl::UnavailableError(absl::StrCat("read: ", ErrnoText(errno)));
  }
}

absl::StatusOr<size_t> WriteSome(int fd, const struct iovec* iov,
                                 int iov_count) {
  msghdr message{};
  message.msg_iov = const_cast<struct iovec*>(iov);
  // More than IOV_MAX pieces is EMSGSIZE; writing a prefix is allowed.
  message.msg_iovlen = static_cast<size_t>(std::clamp(iov_count, 0, IOV_MAX));
  for (;;) {
    const ssize_t n = direct::SendMsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return absl::UnavailableError(absl::StrCat("write: ", ErrnoText(errno)));
  }
}

absl::StatusOr<PeerCredentials> GetPeerCredentials(int fd) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return PosixError("getsockopt SO_PEERCRED", errno);
  }
  if (length != sizeof(credentials) || credentials.pid == 0) {
    return absl::FailedPreconditionError(
        "no peer credentials: not a connected unix socket");
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

absl::Status WaitFor(int fd, short events, absl::Time deadline, int wake_fd,
                     bool* woken) {
  pollfd entries[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
  pollfd& entry = entries[0];
  const nfds_t count = wake_fd >= 0 ? 2 : 1;
  if (woken != nullptr) *woken = false;
  for (;;) {
    const int timeout_ms = PollTimeoutMs(deadline);
    const int n = direct::Poll(entries, count, timeout_ms);
    if (n > 0) {
      if (entry.revents & POLLNVAL) {
        return absl::InvalidArgumentError(
            absl::StrCat("wait on descriptor ", fd, ": not open"));
      }
      if (woken != nullptr && count == 2) {
        *woken = entries[1].revents != 0;
      }
      return absl::OkStatus();  // ready, or POLLHUP/POLLERR for the caller
    }
    if (n == 0) {
      // poll may wake a little early by its clock; wait out the rest.
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            "deadline exceeded while waiting "
            "for the socket");
      }
      continue;
    }
    if (errno == EINTR) continue;  // recomputes the time left
    return PosixError("poll", errno);
  }
}

}  // namespace sockrpc
