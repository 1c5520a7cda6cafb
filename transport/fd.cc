#include "transport/fd.h"

#include <unistd.h>

namespace sockrpc {

void Fd::reset(int fd) {
  // On Linux, close() releases the descriptor even when it reports EINTR, so
  // retrying could close a descriptor another thread has just been given.
  // Close once and ignore the result: there is nothing useful to do with it.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace sockrpc
