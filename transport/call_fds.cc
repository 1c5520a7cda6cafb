#include "transport/call_fds.h"

#include "absl/strings/str_cat.h"

namespace sockrpc {

absl::StatusOr<Fd> CallFds::Take(const FileDescriptor& field) {
  const uint32_t index = field.index();
  if (index >= received_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("file descriptor index ", index,
                     ", but the message came with ", received_.size()));
  }
  if (!received_[index].valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("file descriptor ", index, " was taken already"));
  }
  return std::move(received_[index]);
}

}  // namespace sockrpc
