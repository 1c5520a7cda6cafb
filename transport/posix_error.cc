#include "transport/posix_error.h"

#include <errno.h>
#include <string.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace {

// strerror_r comes in two flavours; these overloads accept either result.
// GNU: returns the message, which may or may not be `buffer`.
[[maybe_unused]] const char* StrerrorResult(const char* result,
                                            const char* /*buffer*/) {
  return result;
}
// XSI: returns 0 on success and fills `buffer`.
[[maybe_unused]] const char* StrerrorResult(int result, const char* buffer) {
  return result == 0 ? buffer : "Unknown error";
}

absl::StatusCode CodeFor(int err) {
  switch (err) {
    // The peer or the path to it is gone, refused, or not there yet: the
    // caller may try again later.
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOENT:
    case ENOTCONN:
    case ESHUTDOWN:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ENETRESET:
    case EADDRNOTAVAIL:
    case EAGAIN:
      return absl::StatusCode::kUnavailable;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case EINVAL:
      return absl::StatusCode::kInvalidArgument;
    case EADDRINUSE:
      return absl::StatusCode::kAlreadyExists;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

std::string ErrnoText(int err) {
  char buffer[128] = {};
  return StrerrorResult(strerror_r(err, buffer, sizeof(buffer)), buffer);
}

absl::Status PosixError(absl::string_view context, int err) {
  return absl::Status(CodeFor(err),
                      absl::StrCat(context, ": ", ErrnoText(err)));
}

}  // namespace sockrpc
