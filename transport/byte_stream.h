// ByteStream: the connected byte stream a runtime reads and writes for one
// connection. SocketStream, a connected non-blocking socket, is what the
// server serves; the interface lets a test put something else in its place
// (the server fuzzer feeds a connection from memory, with reads and writes
// cut where it likes, and no system call per input).
//
// A stream is used the way a non-blocking socket is: Read() and Write()
// never wait, and a stream with an fd() is watched with epoll to learn
// when to call them again. A stream without one (fd() < 0) is watched by
// its owner, who delivers the events itself. A stream with an fd() whose
// ReadsAsRecv() holds reads what recv() on that descriptor reads: the
// server may receive from it through io_uring in Read()'s place (its solo
// connection). A stream that transforms the bytes (TLS, tls_stream.h) says
// it does not, and may hold input the descriptor no longer reports
// (HasBufferedInput(): read before waiting).
//
// Thread-safety: as for a socket, one reader and one writer may use a
// SocketStream at once; Shutdown() may be called from any thread. Other
// streams state their own rules.
#ifndef SOCKRPC_TRANSPORT_BYTE_STREAM_H_
#define SOCKRPC_TRANSPORT_BYTE_STREAM_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/fd.h"
#include "transport/tls_options.h"

namespace sockrpc {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // The descriptor to watch with epoll, or -1 if the owner of the stream
  // delivers its events.
  virtual int fd() const = 0;
  // Reads up to `size` bytes into `buffer`: the count read (> 0), 0 at the
  // end of the stream (the peer closed), or -1 if nothing is there now. A
  // broken connection is an UNAVAILABLE error.
  virtual absl::StatusOr<ssize_t> Read(char* buffer, size_t size) = 0;
  // Writes as much of `iov[0..iov_count)` as the stream takes now: the
  // count written, 0 if it is full. A broken connection is UNAVAILABLE.
  virtual absl::StatusOr<size_t> Write(const struct iovec* iov,
                                       int iov_count) = 0;
  // Ends both directions at once: the peer sees the connection close, and
  // later reads return 0 (or an error) and writes fail.
  virtual void Shutdown() = 0;

  // Whether recv() on fd() reads this stream's bytes (see above).
  virtual bool ReadsAsRecv() const { return true; }
  // Whether bytes wait inside the stream that epoll on fd() does not report.
  virtual bool HasBufferedInput() const { return false; }
  // The TLS peer, once its handshake is done; nullptr for a plain stream.
  virtual const TlsPeer* tls_peer() const { return nullptr; }

  // Read(), appending the descriptors that came with the bytes (SCM_RIGHTS,
  // transport/fd_passing.h) to `*fds`. A stream that passes no descriptors
  // just reads.
  virtual absl::StatusOr<ssize_t> ReadWithFds(char* buffer, size_t size,
                                              std::vector<Fd>* fds) {
    (void)fds;
    return Read(buffer, size);
  }
  // Write() whose first byte carries `fds`. A stream that passes no
  // descriptors says FAILED_PRECONDITION.
  virtual absl::StatusOr<size_t> WriteWithFds(const struct iovec* iov,
                                              int iov_count,
                                              absl::Span<const int> fds);
};

// A connected non-blocking socket (ReadSome(), WriteSome() and shutdown()
// of transport/socket.h). Owns the descriptor.
class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(Fd fd) : fd_(std::move(fd)) {}

  int fd() const override { return fd_.get(); }
  absl::StatusOr<ssize_t> Read(char* buffer, size_t size) override;
  absl::StatusOr<size_t> Write(const struct iovec* iov, int iov_count) override;
  void Shutdown() override;
  absl::StatusOr<ssize_t> ReadWithFds(char* buffer, size_t size,
                                      std::vector<Fd>* fds) override;
  absl::StatusOr<size_t> WriteWithFds(const struct iovec* iov, int iov_count,
                                      absl::Span<const int> fds) override;

 private:
  const Fd fd_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_BYTE_STREAM_H_
