#include "client/outgoing_frames.h"

#include <poll.h>
#include <sys/uio.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/cleanup/cleanup.h"
#include "sockrpc/wire.pb.h"
#include "transport/fd_passing.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// A call is held only while the server has at least this many of our
// calls to answer, and at least twice as many as are held, and only as
// many held bytes as kMaxHeldBytes. Measured at 8-64 calls in flight: with
// fewer unanswered, or more held, the server runs out of work while calls
// wait here, which costs more than the writes saved; over TCP, whose
// loopback sends cost several times a unix socket's (the sender runs the
// receiver's protocol work too), holding pays off sooner.
constexpr size_t kMinUnansweredToHoldUnix = 4;
constexpr size_t kMinUnansweredToHoldTcp = 2;
constexpr size_t kMaxHeldBytes = 16 * 1024;

}  // namespace

OutgoingFrames::OutgoingFrames(int fd, bool batch_call_starts, bool unix_socket,
                               uint32_t max_fds_per_message)
    : fd_(fd),
      batch_call_starts_(batch_call_starts),
      min_unanswered_to_hold_(unix_socket ? kMinUnansweredToHoldUnix
                                          : kMinUnansweredToHoldTcp),
      max_fds_per_message_(
          unix_socket ? std::min(max_fds_per_message, kMaxFdsPerMessageLimit)
                      : 0) {}

bool OutgoingFrames::DecideToHold(size_t others, size_t size) {
  return batch_call_starts_ && DecideToHoldForLoop(others, size);
}

bool OutgoingFrames::DecideToHoldForLoop(size_t others, size_t size) {
  const size_t unanswered = others > held_calls_ ? others - held_calls_ : 0;
  const bool hold = unanswered >= min_unanswered_to_hold_ &&
                    2 * held_calls_ < unanswered &&
                    held_.size() + size <= kMaxHeldBytes;
  if (hold) has_held_.store(true, std::memory_order_relaxed);
  return hold;
}

void OutgoingFrames::HoldCall(absl::string_view frames) {
  HoldPrefaceIfDue();
  held_.append(frames.data(), frames.size());
  ++held_calls_;
}

void OutgoingFrames::HoldPreface() {
  AppendPreface(&held_);  // held_ is empty until the preface is due
  if (max_fds_per_message_ > 0) {
    wire::Settings settings;
    settings.set_max_fds_per_message(max_fds_per_message_);
    (void)AppendMessageFrame(&held_, FrameType::kSettings, 0, 0, settings,
                             kDefaultMaxFrameSize);
  }
  preface_sent_ = true;
}

void OutgoingFrames::AfterWrite() {
  held_calls_ = 0;  // any left over are partly written: no longer held
  has_held_.store(!held_.empty(), std::memory_order_relaxed);
}

absl::Status OutgoingFrames::WriteAll(absl::string_view bytes,
                                      absl::Time deadline, size_t* written) {
  HoldPrefaceIfDue();
  *written = 0;
  if (ABSL_PREDICT_TRUE(held_.empty() && marks_.empty() && !bytes.empty())) {
    // Nothing held (the usual case): one write, which the socket nearly
    // always takes whole; what it does not take goes on below.
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    absl::StatusOr<size_t> n = WriteOut(&iov, 1);
    if (!n.ok() || *n == bytes.size()) {
      if (n.ok()) *written = *n;
      AfterWrite();
      return n.status();
    }
    *written = *n;
  }
  if (ABSL_PREDICT_FALSE(!marks_.empty())) {
    // Held descriptors go with their own writes first; out of time, the
    // rest stays held and nothing of `bytes` went out.
    absl::Status flushed = FlushMarked(deadline);
    AfterWrite();
    if (!flushed.ok()) return flushed;
  }
  size_t held_written = 0;
  bool timed_out = false;
  absl::Cleanup forget_written = [this, &held_written, &timed_out] {
    // Out of time, the rest of held_ stays, in order, for the next write
    // (partly written frames included: the byte stream is still sound).
    // After an error the connection is broken and nothing is kept.
    if (timed_out) {
      held_.erase(0, held_written);
    } else {
      DropHeld();
    }
    AfterWrite();
  };
  while (held_written < held_.size() || *written < bytes.size()) {
    iovec iov[2];
    int count = 0;
    if (held_written < held_.size()) {
      iov[count++] = {held_.data() + held_written, held_.size() - held_written};
    }
    if (*written < bytes.size()) {
      iov[count++] = {const_cast<char*>(bytes.data()) + *written,
                      bytes.size() - *written};
    }
    absl::StatusOr<size_t> n = WriteOut(iov, count);
    if (!n.ok()) return n.status();
    const size_t from_held = std::min(*n, held_.size() - held_written);
    held_written += from_held;
    *written += *n - from_held;
    if (*n == 0) {
      absl::Status ready = WaitFor(fd_, POLLOUT, deadline);
      if (!ready.ok()) {
        timed_out = absl::IsDeadlineExceeded(ready);
        return ready;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status OutgoingFrames::WriteNoWait(absl::string_view bytes,
                                         size_t* written) {
  HoldPrefaceIfDue();
  *written = 0;
  if (ABSL_PREDICT_FALSE(!marks_.empty())) {
    absl::Status flushed = FlushMarkedNoWait();
    if (!flushed.ok() || !held_.empty()) {
      if (flushed.ok()) held_.append(bytes.data(), bytes.size());
      AfterWrite();
      return flushed;
    }
  }
  absl::Status result;
  for (;;) {
    iovec iov[2];
    int count = 0;
    if (!held_.empty()) iov[count++] = {held_.data(), held_.size()};
    if (*written < bytes.size()) {
      iov[count++] = {const_cast<char*>(bytes.data()) + *written,
                      bytes.size() - *written};
    }
    if (count == 0) break;
    absl::StatusOr<size_t> n = WriteOut(iov, count);
    if (!n.ok()) {
      result = n.status();
      DropHeld();
      break;
    }
    if (*n == 0) break;  // the socket is full
    const size_t from_held = std::min(*n, held_.size());
    held_.erase(0, from_held);
    *written += *n - from_held;
  }
  // The rest waits, in order, behind what is held (partly written frames
  // included: the byte stream stays sound).
  if (result.ok() && *written < bytes.size()) {
    held_.append(bytes.data() + *written, bytes.size() - *written);
  }
  AfterWrite();
  return result;
}

}  // namespace sockrpc

namespace sockrpc {

absl::Status OutgoingFrames::WriteAllWithFds(absl::string_view bytes,
                                             size_t fds_offset,
                                             absl::Span<const int> fds,
                                             absl::Time deadline,
                                             size_t* written) {
  // What is held, and the frames before the FDS frame.
  absl::Status sent = WriteAll(bytes.substr(0, fds_offset), deadline, written);
  if (!sent.ok()) return sent;
  // The write that begins with the FDS frame passes the descriptors.
  for (;;) {
    iovec iov{const_cast<char*>(bytes.data()) + fds_offset,
              bytes.size() - fds_offset};
    absl::StatusOr<size_t> n = WriteSomeWithFds(fd_, &iov, 1, fds);
    if (!n.ok()) return n.status();
    if (*n > 0) {
      *written += *n;
      break;
    }
    absl::Status ready = WaitFor(fd_, POLLOUT, deadline);
    if (!ready.ok()) return ready;  // nothing of the FDS frame went out
  }
  size_t more = 0;
  sent = WriteAll(bytes.substr(*written), deadline, &more);
  *written += more;
  return sent;
}

absl::Status OutgoingFrames::WriteNoWaitWithFds(absl::string_view bytes,
                                                size_t fds_offset,
                                                std::vector<Fd> fds,
                                                size_t* written) {
  HoldPrefaceIfDue();
  // Held behind what is held already, marked, then written as far as the
  // socket takes it.
  const size_t before = held_.size();
  marks_.push_back(Mark{before + fds_offset, std::move(fds)});
  held_.append(bytes.data(), bytes.size());
  absl::Status flushed = FlushMarkedNoWait();
  const size_t gone = before + bytes.size() - held_.size();
  *written = flushed.ok() && gone > before ? gone - before : 0;
  AfterWrite();
  return flushed;
}

absl::StatusOr<size_t> OutgoingFrames::WriteHeldRun() {
  const bool carries = marks_.front().offset == 0;
  size_t end = held_.size();
  const size_t next = carries ? 1 : 0;
  if (marks_.size() > next) end = marks_[next].offset;
  iovec iov{held_.data(), end};
  if (!carries) return WriteOut(&iov, 1);
  std::vector<int> raw;
  for (const Fd& fd : marks_.front().fds) raw.push_back(fd.get());
  absl::StatusOr<size_t> n = WriteSomeWithFds(fd_, &iov, 1, raw);
  if (n.ok() && *n > 0) marks_.erase(marks_.begin());  // passed: ours close
  return n;
}

void OutgoingFrames::ConsumeHeld(size_t n) {
  held_.erase(0, n);
  for (Mark& mark : marks_) mark.offset -= n;
}

void OutgoingFrames::DropHeld() {
  held_.clear();
  marks_.clear();
}

absl::Status OutgoingFrames::FlushMarkedNoWait() {
  while (!held_.empty()) {
    if (marks_.empty()) {
      iovec iov{held_.data(), held_.size()};
      absl::StatusOr<size_t> n = WriteOut(&iov, 1);
      if (!n.ok()) {
        DropHeld();
        return n.status();
      }
      if (*n == 0) return absl::OkStatus();
      ConsumeHeld(*n);
      continue;
    }
    absl::StatusOr<size_t> n = WriteHeldRun();
    if (!n.ok()) {
      DropHeld();
      return n.status();
    }
    if (*n == 0) return absl::OkStatus();  // the socket is full
    ConsumeHeld(*n);
  }
  return absl::OkStatus();
}

absl::Status OutgoingFrames::FlushMarked(absl::Time deadline) {
  for (;;) {
    absl::Status flushed = FlushMarkedNoWait();
    if (!flushed.ok() || held_.empty()) return flushed;
    absl::Status ready = WaitFor(fd_, POLLOUT, deadline);
    if (!ready.ok()) {
      if (!absl::IsDeadlineExceeded(ready)) DropHeld();
      return ready;
    }
  }
}

}  // namespace sockrpc
