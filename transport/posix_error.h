// The one place where errno values become absl::Status.
#ifndef SOCKRPC_TRANSPORT_POSIX_ERROR_H_
#define SOCKRPC_TRANSPORT_POSIX_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sockrpc {

// PosixError returns a status for the failed system call described by
// `context` (for example "connect to unix:/tmp/s"), with strerror(err)
// appended. Connection-level failures (ECONNREFUSED, ECONNRESET, EPIPE,
// ENOENT on a socket path, ...) map to UNAVAILABLE, EMFILE/ENFILE/ENOBUFS/
// ENOMEM to RESOURCE_EXHAUSTED, EACCES/EPERM to PERMISSION_DENIED,
// ETIMEDOUT to DEADLINE_EXCEEDED, EINVAL to INVALID_ARGUMENT, EADDRINUSE to
// ALREADY_EXISTS, and anything else to INTERNAL.
absl::Status PosixError(absl::string_view context, int err);

// ErrnoText returns strerror(err) (thread-safe), for messages that are
// composed by hand.
std::string ErrnoText(int err);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_POSIX_ERROR_H_
