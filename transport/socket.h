// Stream sockets, step by step: the classic socket -> bind -> listen ->
// accept path of a server, and socket -> connect of a client, plus the
// non-blocking read/write/wait primitives the runtimes build on.
//
// Every descriptor made here is SOCK_CLOEXEC | SOCK_NONBLOCK. EINTR is
// retried here and nowhere else; writes use MSG_NOSIGNAL so a vanished
// peer is an EPIPE status, never a SIGPIPE.
//
// Thread-safety: the free functions are thread-safe. A Listener is
// thread-compatible: Accept() may run on one thread at a time.
#ifndef SOCKRPC_TRANSPORT_SOCKET_H_
#define SOCKRPC_TRANSPORT_SOCKET_H_

#include <poll.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/peer_credentials.h"

namespace sockrpc {

// Options for Listener::Bind.
struct ListenOptions {
  // Mode bits for a filesystem socket file (for example 0660). Unset: as the
  // process umask gives, like any new file.
  std::optional<mode_t> socket_file_mode;
  // Group owner for a filesystem socket file; unset: the process's group.
  std::optional<gid_t> socket_file_group;
  // listen() backlog: how many connections the kernel queues before accept.
  int backlog = 1024;
};

// Listener is a bound, listening server socket. For a filesystem socket it
// owns the socket file: it removes the file when destroyed or closed (only
// if the path still holds the file it created).
class Listener {
 public:
  // Bind runs socket -> bind -> listen for `address`.
  //
  // For a filesystem path that already exists:
  //  - a socket a server still accepts on: ALREADY_EXISTS, "address already
  //    in use by a running server: unix:PATH". (Finding out takes a
  //    connect(), so that server accepts one connection that closes at once
  //    without sending anything.)
  //  - a stale socket (connect is refused): it is removed, then bound;
  //  - anything else: FAILED_PRECONDITION, and the file is left untouched.
  // TCP listeners set SO_REUSEADDR. Port 0 binds an ephemeral port, which
  // address() then reports.
  static absl::StatusOr<Listener> Bind(const Address& address,
                                       const ListenOptions& options = {});

  // Adopt makes a Listener of `fd`, a socket someone else bound and set
  // listening (systemd, see transport/socket_activation.h). Its address is
  // what getsockname() tells. An adopted listener never removes a socket
  // file: whoever bound it owns the file.
  static absl::StatusOr<Listener> Adopt(Fd fd);

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  ~Listener();

  // The listening descriptor (for registering with epoll).
  int fd() const { return fd_.get(); }

  // The bound address, with the real port for TCP.
  const Address& address() const { return address_; }

  // Accept takes one queued connection and returns its socket
  // (non-blocking, close-on-exec). Returns an invalid Fd when no connection
  // is waiting. ECONNABORTED/EPROTO (the peer gave up while queued) are
  // skipped.
  //
  // Out of descriptors (EMFILE/ENFILE), the waiting connection would keep
  // the listener readable for ever. So Accept frees the descriptor it keeps
  // in reserve, accepts the connection in its place, hands it to `shed`
  // (which may tell the peer why, in a few non-blocking bytes), closes it,
  // takes the reserve again, and returns RESOURCE_EXHAUSTED; the caller may
  // go on accepting. Without a reserve (someone else took the descriptor
  // freed), the connection waits and Accept only returns the error.
  absl::StatusOr<Fd> Accept(absl::FunctionRef<void(int fd)> shed);
  // The same, shedding such a connection without a word.
  absl::StatusOr<Fd> Accept();

  // Close stops listening now and removes the socket file. Idempotent.
  void Close();

 private:
  Listener(Fd fd, Address address, dev_t file_dev, ino_t file_ino);

  Fd fd_;
  Address address_;
  // Identity of the socket file we created (kUnixPath only), so that Close()
  // never removes a file some other process put at the same path.
  dev_t file_dev_ = 0;
  ino_t file_ino_ = 0;
  // A spare descriptor on /dev/null, given up to shed a connection on EMFILE.
  Fd reserve_fd_;
};

// GetPeerCredentials reads the credentials of the peer of the connected
// unix socket `fd`. FAILED_PRECONDITION for other sockets.
absl::StatusOr<PeerCredentials> GetPeerCredentials(int fd);

// Connect runs socket -> connect to `address` and waits until the
// connection is established or `deadline` passes. Tries every resolved
// sockaddr in turn. Returns a connected, non-blocking socket. Failures are
// UNAVAILABLE (or DEADLINE_EXCEEDED) with a message naming the address,
// for example "failed to connect to unix:/tmp/s: No such file or directory";
// only a failure of socket() itself keeps its PosixError code (EMFILE:
// RESOURCE_EXHAUSTED). A unix server whose accept queue is full is retried,
// with a short back-off, until the deadline. A TCP socket that the kernel
// connected to itself (nothing listens on a local port that it chose as the
// client's own) is closed and reported as refused: UNAVAILABLE. With a
// `cancel_fd` (an eventfd another thread may signal; -1: none), the wait
// also ends when it is readable: CANCELLED.
absl::StatusOr<Fd> Connect(const Address& address, absl::Time deadline,
                           int cancel_fd = -1);

// IsUnixSocket tells whether `fd` is a unix (AF_UNIX) socket.
bool IsUnixSocket(int fd);

// PeerAddressOf: the address `fd` is connected to (getpeername()), as an
// Address (an unnamed unix peer gives an empty kUnixPath one); nullopt if
// the kernel does not say.
std::optional<Address> PeerAddressOf(int fd);

// ConnectedPair is two connected unix stream sockets (socketpair()): what
// one end writes, the other reads. Nothing is bound or listening.
struct ConnectedPair {
  Fd first;
  Fd second;
};

// SocketPair makes a ConnectedPair of non-blocking, close-on-exec sockets.
// Fails with socketpair()'s PosixError (EMFILE: RESOURCE_EXHAUSTED).
absl::StatusOr<ConnectedPair> SocketPair();

// ReadSome reads up to `size` bytes from the non-blocking `fd` into `buffer`.
// Returns the count read (> 0), 0 at end of stream (the peer closed), or -1
// if no data is available now (EAGAIN). ECONNRESET and other errors are
// UNAVAILABLE.
absl::StatusOr<ssize_t> ReadSome(int fd, char* buffer, size_t size);

// WriteSome writes as much of `iov[0..iov_count)` as the socket takes now,
// with MSG_NOSIGNAL. Returns the count written, which is 0 if the socket
// buffer is full (EAGAIN). EPIPE/ECONNRESET and other errors are UNAVAILABLE.
absl::StatusOr<size_t> WriteSome(int fd, const struct iovec* iov,
                                 int iov_count);

// WaitFor waits until `fd` is ready for `events` (POLLIN, POLLOUT), or
// `wake_fd` (if not -1; an eventfd another thread signals) is readable, or
// `deadline` passes (absl::InfiniteFuture() waits forever). Returns OK when
// ready or woken (including POLLHUP/POLLERR, which the next read or write
// reports; the caller drains `wake_fd`), DEADLINE_EXCEEDED on time-out.
// `*woken`, if given, tells whether `wake_fd` was readable (so the caller
// drains it only then, saving a read).
absl::Status WaitFor(int fd, short events, absl::Time deadline,
                     int wake_fd = -1, bool* woken = nullptr);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_SOCKET_H_
