#include "transport/fd_passing.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/posix_error.h"

namespace sockrpc {
namespace {

// Control-message space for the most descriptors one sendmsg() may pass.
constexpr size_t kControlSpace =
    CMSG_SPACE(sizeof(int) * kMaxFdsPerMessageLimit);

// Moves the SCM_RIGHTS descriptors of `message` into `*fds`, owned.
void CollectFds(msghdr* message, std::vector<Fd>* fds) {
  for (cmsghdr* control = CMSG_FIRSTHDR(message); control != nullptr;
       control = CMSG_NXTHDR(message, control)) {
    if (control->cmsg_level != SOL_SOCKET || control->cmsg_type != SCM_RIGHTS)
      continue;
    const size_t count = (control->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(control);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, data + i * sizeof(int), sizeof(int));
      fds->emplace_back(received);
    }
  }
}

}  // namespace

absl::StatusOr<size_t> WriteSomeWithFds(int fd, const struct iovec* iov,
                                        int iov_count,
                                        absl::Span<const int> fds) {
  if (fds.empty() || fds.size() > kMaxFdsPerMessageLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat(fds.size(), " descriptors in one message; 1 to ",
                     kMaxFdsPerMessageLimit, " may be passed"));
  }
  alignas(cmsghdr) char control[kControlSpace];
  msghdr message{};
  message.msg_iov = const_cast<struct iovec*>(iov);
  message.msg_iovlen = static_cast<size_t>(std::clamp(iov_count, 0, IOV_MAX));
  message.msg_control = control;
  message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == EBADF) {
      return absl::InvalidArgumentError(
          "write with descriptors: a descriptor to pass is not open");
    }
    if (errno == ETOOMANYREFS) {
      return absl::ResourceExhaustedError(
          absl::StrCat("write with descriptors: ", ErrnoText(errno)));
    }
    return absl::UnavailableError(
        absl::StrCat("write with descriptors: ", ErrnoText(errno)));
  }
}

absl::StatusOr<ssize_t> ReadSomeWithFds(int fd, char* buffer, size_t size,
                                        std::vector<Fd>* fds) {
  alignas(cmsghdr) char control[kControlSpace];
  iovec data{buffer, size};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  for (;;) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (n >= 0) {
      if (message.msg_controllen > 0) CollectFds(&message, fds);
      if ((message.msg_flags & MSG_CTRUNC) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("the peer passed more than ", kMaxFdsPerMessageLimit,
                         " descriptors at once (control data cut short)"));
      }
      return n;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    return absl::UnavailableError(absl::StrCat("read: ", ErrnoText(errno)));
  }
}

void ReceivedFds::Add(uint64_t read_begin, uint64_t read_end,
                      std::vector<Fd> fds) {
  if (fds.empty()) return;
  count_ += fds.size();
  batches_.push_back(Batch{read_begin, read_end, std::move(fds)});
}

absl::StatusOr<std::vector<Fd>> ReceivedFds::Take(uint64_t frame_begin,
                                                  uint32_t count) {
  if (batches_.empty() || frame_begin < batches_.front().read_begin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "FDS frame announces ", count, " descriptors, but none came with it"));
  }
  Batch& batch = batches_.front();
  if (frame_begin >= batch.read_end) {
    return absl::InvalidArgumentError(
        absl::StrCat(batch.fds.size(),
                     " descriptors arrived with no FDS frame (the FDS frame "
                     "must begin the write that passes them)"));
  }
  if (batch.fds.size() != count) {
    return absl::InvalidArgumentError(
        absl::StrCat("FDS frame announces ", count, " descriptors, but ",
                     batch.fds.size(), " came with it"));
  }
  std::vector<Fd> taken = std::move(batch.fds);
  count_ -= taken.size();
  batches_.erase(batches_.begin());
  return taken;
}

absl::Status ReceivedFds::CheckNoneLeftBefore(uint64_t parsed) const {
  if (batches_.empty() || batches_.front().read_end > parsed) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      batches_.front().fds.size(), " descriptors arrived with no FDS frame"));
}

void ReceivedFds::Clear() {
  batches_.clear();
  count_ = 0;
}

}  // namespace sockrpc
