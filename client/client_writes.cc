// ClientConnection's sending: frames go out under write_mu_ through out_
// (client/outgoing_frames.h), a failed write fails the connection, and
// control frames are sent best effort (see client/client_connection.h).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_connection.h"
#include "sockrpc/wire.pb.h"
#include "transport/wire_codec.h"

namespace sockrpc {

absl::Status ClientConnection::WriteFrames(absl::string_view bytes,
                                          absl::Time deadline,
                                          bool* sent_nothing) {
  MutexLock write_lock(&write_mu_);
  size_t written = 0;
  absl::Status sent = WriteAllInTime(bytes, deadline, &written);
  *sent_nothing = written == 0;
  if (!sent.ok()) {
    if (absl::IsDeadlineExceeded(sent)) {
      failed_by_own_call_.store(true, std::memory_order_release);
    }
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
  return sent;
}

absl::Status ClientConnection::WriteAllInTime(absl::string_view bytes,
                                              absl::Time deadline,
                                              size_t* written) {
  if (ABSL_PREDICT_TRUE(preface_arrived_.load(std::memory_order_acquire))) {
    return out_.WriteAll(bytes, deadline, written);  // (most writes)
  }
  *written = 0;
  for (;;) {
    const bool awaiting_preface =
        ABSL_PREDICT_FALSE(!preface_arrived_.load(std::memory_order_acquire));
    const absl::Time until =
        awaiting_preface ? PrefaceWaitDeadline(deadline) : deadline;
    size_t more = 0;
    absl::Status sent = out_.WriteAll(bytes.substr(*written), until, &more);
    *written += more;
    if (ABSL_PREDICT_TRUE(sent.ok()) || !awaiting_preface ||
        !absl::IsDeadlineExceeded(sent) || absl::Now() >= deadline) {
      return sent;
    }
    // Out of the preface's time, not the caller's.
    if (FailIfPrefaceLate()) return PrefaceLateError();
    // The preface came meanwhile: go on (what was held is still held, and
    // the rest of `bytes` is what is left to write).
  }
}

void ClientConnection::FlushHeld(absl::Time deadline) {
  MutexLock write_lock(&write_mu_);
  if (out_.held_empty()) return;
  size_t written = 0;
  absl::Status sent = WriteAllInTime("", deadline, &written);
  // Out of time with the socket full, what is left stays held, in order:
  // the connection is still sound.
  if (!sent.ok() && !absl::IsDeadlineExceeded(sent)) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
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
    if (!out_.preface_sent()) return;
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

void ClientConnection::SendNoWait(absl::string_view bytes) {
  absl::Status sent;
  bool held;
  {
    MutexLock write_lock(&write_mu_);
    size_t written;
    sent = out_.WriteNoWait(bytes, &written);
    held = !out_.held_empty();
  }
  AfterNoWaitWrite(sent, held);
}

void ClientConnection::AfterNoWaitWrite(const absl::Status& sent, bool held) {
  if (!sent.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  } else if (held) {
    RearmForLoop();
  }
}

}  // namespace sockrpc
