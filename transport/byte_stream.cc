#include "transport/byte_stream.h"

#include <sys/socket.h>

#include "transport/fd_passing.h"
#include "transport/socket.h"

namespace sockrpc {

absl::StatusOr<ssize_t> SocketStream::Read(char* buffer, size_t size) {
  return ReadSome(fd_.get(), buffer, size);
}

absl::StatusOr<size_t> SocketStream::Write(const struct iovec* iov,
                                           int iov_count) {
  return WriteSome(fd_.get(), iov, iov_count);
}

void SocketStream::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

absl::StatusOr<ssize_t> SocketStream::ReadWithFds(char* buffer, size_t size,
                                                  std::vector<Fd>* fds) {
  return ReadSomeWithFds(fd_.get(), buffer, size, fds);
}

absl::StatusOr<size_t> SocketStream::WriteWithFds(const struct iovec* iov,
                                                  int iov_count,
                                                  absl::Span<const int> fds) {
  return WriteSomeWithFds(fd_.get(), iov, iov_count, fds);
}

absl::StatusOr<size_t> ByteStream::WriteWithFds(const struct iovec* iov,
                                                int iov_count,
                                                absl::Span<const int> fds) {
  (void)iov;
  (void)iov_count;
  (void)fds;
  return absl::FailedPreconditionError(
      "this connection cannot pass file descriptors");
}

}  // namespace sockrpc
