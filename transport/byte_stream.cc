#include "transport/byte_stream.h"

#include <sys/socket.h>

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

}  // namespace sockrpc
