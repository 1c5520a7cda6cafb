// ClientConnection's writing: frames go out whole under write_mu_, held
// calls (ChannelOptions::batch_call_starts) first, and control frames are
// sent best effort (see client/client_connection.h).
#include <poll.h>
#include <sys/uio.h>

#include <algorithm>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_connection.h"
#include "sockrpc/wire.pb.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {

absl::Status ClientConnection::WriteFrames(absl::string_view bytes,
                                          absl::Time deadline,
                                          bool* sent_nothing) {
  MutexLock write_lock(&write_mu_);
  size_t written = 0;
  absl::Status sent = WriteAllLocked(bytes, deadline, &written);
  *sent_nothing = written == 0;
  if (!sent.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
  return sent;
}

void ClientConnection::HoldPrefaceIfDueLocked() {
  if (preface_sent_) return;
  AppendPreface(&held_);  // held_ is empty until the preface is due
  preface_sent_ = true;
}

void ClientConnection::FlushHeld(absl::Time deadline) {
  MutexLock write_lock(&write_mu_);
  if (held_.empty()) return;
  size_t written = 0;
  absl::Status sent = WriteAllLocked("", deadline, &written);
  // Out of time with the socket full, what is left stays held, in order:
  // the connection is still sound.
  if (!sent.ok() && !absl::IsDeadlineExceeded(sent)) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
}

absl::Status ClientConnection::WriteAllLocked(absl::string_view bytes,
                                              absl::Time deadline,
                                              size_t* written) {
  HoldPrefaceIfDueLocked();
  size_t held_written = 0;
  bool timed_out = false;
  absl::Cleanup forget_written = [this, &held_written, &timed_out] {
    // Out of time, the rest of held_ stays, in order, for the next write
    // (partly written frames included: the byte stream is still sound).
    // After an error the connection is broken and nothing is kept.
    if (timed_out) {
      held_.erase(0, held_written);
    } else {
      held_.clear();
    }
    held_calls_ = 0;  // any left over are partly written: no longer held
    has_held_.store(!held_.empty(), std::memory_order_relaxed);
  };
  while (held_written < held_.size() || *written < bytes.size()) {
    iovec iov[2];
    int count = 0;
    if (held_written < held_.size()) {
      iov[count++] = {held_.data() + held_written,
                      held_.size() - held_written};
    }
    if (*written < bytes.size()) {
      iov[count++] = {const_cast<char*>(bytes.data()) + *written,
                      bytes.size() - *written};
    }
    absl::StatusOr<size_t> n = WriteSome(fd_.get(), iov, count);
    if (!n.ok()) return n.status();
    const size_t from_held = std::min(*n, held_.size() - held_written);
    held_written += from_held;
    *written += *n - from_held;
    if (*n == 0) {
      absl::Status ready = WaitFor(fd_.get(), POLLOUT, deadline);
      if (!ready.ok()) {
        timed_out = absl::IsDeadlineExceeded(ready);
        return ready;
      }
    }
  }
  return absl::OkStatus();
}

void ClientConnection::SendCancel(uint32_t stream_id,
                                  absl::string_view reason) {
  wire::CancelCall cancel;
  cancel.set_reason(std::string(reason));
  std::string frame;
  (void)AppendMessageFrame(&frame, FrameType::kCancel, 0, stream_id, cancel,
                           max_frame_size_);
  SendControl(frame);
}

void ClientConnection::SendWindowUpdate(uint32_t stream_id,
                                        uint32_t increment) {
  std::string frame;
  AppendWindowUpdateFrame(&frame, stream_id, increment);
  SendControl(frame);
}

void ClientConnection::SendControl(absl::string_view bytes) {
  {
    MutexLock write_lock(&write_mu_);
    if (!preface_sent_) return;
  }
  if (loop_watching_.load(std::memory_order_relaxed)) {
    // The loop may be the sender (a PING it read, a reaction's cancel): it
    // must not wait, and it flushes what the socket does not take.
    SendNoWait(bytes);
    return;
  }
  bool sent_nothing;
  // Control frames are small; give up (and fail) rather than block long.
  (void)WriteFrames(bytes, absl::Now() + absl::Seconds(1), &sent_nothing);
}

absl::Status ClientConnection::WriteNoWaitLocked(absl::string_view bytes,
                                                 size_t* written) {
  HoldPrefaceIfDueLocked();
  *written = 0;
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
    absl::StatusOr<size_t> n = WriteSome(fd_.get(), iov, count);
    if (!n.ok()) {
      result = n.status();
      held_.clear();
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
  held_calls_ = 0;
  has_held_.store(!held_.empty(), std::memory_order_relaxed);
  return result;
}

void ClientConnection::SendNoWait(absl::string_view bytes) {
  absl::Status sent;
  bool held;
  {
    MutexLock write_lock(&write_mu_);
    size_t written;
    sent = WriteNoWaitLocked(bytes, &written);
    held = !held_.empty();
  }
  if (!sent.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
    return;
  }
  if (held) RearmForLoop();
}

}  // namespace sockrpc
