// ClientConnection's waiting and reading: the reader role a waiting
// thread takes (leader/follower), the bounded wait for the server's
// preface, and one read with the frames it completed dispatched (see
// client/client_connection.h).
#include <poll.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_connection.h"
#include "client/client_event_loop.h"
#include "transport/poller.h"
#include "transport/socket.h"

namespace sockrpc {

void ClientConnection::ReadWhatIsLeft() {
  {
    MutexLock lock(&mu_);
    if (reader_active_) return;  // that thread will see it
    reader_active_ = true;
  }
  char scratch[kReadScratchSize];
  for (int reads = 0; reads < 16; ++reads) {
    absl::Status error;
    const IncomingFrames::ReadResult read =
        in_.ReadOnce(absl::MakeSpan(scratch), &error);
    if (read == IncomingFrames::ReadResult::kFailed ||
        read == IncomingFrames::ReadResult::kDrained) {
      break;
    }
    const bool processed = ProcessFrames();
    NotePrefaceArrival();
    if (!processed) break;
  }
  in_.EndReads();
  MutexLock lock(&mu_);
  ReleaseReaderLocked();
}

bool ClientConnection::AwaitLocked(ClientCallState* stream, Predicate ready,
                                   absl::Time deadline) {
  const absl::Time stream_deadline =
      stream != nullptr ? stream->deadline() : absl::InfiniteFuture();
  const absl::Time wait_deadline = std::min(deadline, stream_deadline);
  // Counted while it waits: the event loop then does not sleep holding the
  // reader role (ReceiveForLoop()).
  ++blocking_waiters_;
  absl::Cleanup not_waiting = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    --blocking_waiters_;  // (every return holds mu_)
  };
  while (!ready()) {
    if (wait_deadline != absl::InfiniteFuture() &&
        absl::Now() >= wait_deadline) {
      break;
    }
    if (out_.has_held()) {
      // Held calls go out before anyone waits: what we wait for may be the
      // reply to one of them.
      mu_.Unlock();
      FlushHeld(wait_deadline);
      mu_.Lock();
      continue;
    }
    if (!reader_active_) {
      reader_active_ = true;
      mu_.Unlock();
      ReadUntil(ready, wait_deadline);
      mu_.Lock();
      ReleaseReaderLocked();
      continue;
    }
    if (ABSL_PREDICT_FALSE(loop_receiving_)) {
      // The event loop holds the role, asleep in its ring's wait: have it
      // give the role up now rather than when bytes come.
      loop_receiving_ = false;
      loop_->WakeUp();
    }
    mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return ready() || !reader_active_;
        },
        wait_deadline);
  }
  if (ready()) return true;
  if (stream != nullptr && !stream->done_ && absl::Now() >= stream_deadline) {
    // The call's own deadline passed: it ends here, and the server is told.
    uint32_t id = stream->id_;
    EndStreamLocked(*stream, absl::DeadlineExceededError(absl::StrCat(
                                 "deadline exceeded waiting for ", target_)));
    if (id != 0) {
      mu_.Unlock();
      SendCancel(id, "deadline exceeded");
      mu_.Lock();
    }
    return ready();
  }
  return false;
}

void ClientConnection::ReadUntil(Predicate ready, absl::Time deadline) {
  char scratch[kReadScratchSize];
  // The reader may keep bytes in `scratch` until EndReads(). Before the
  // reader role is given up, TLS input the session holds is read: no
  // epoll or poll() would tell the next reader of it.
  absl::Cleanup end_reads = [this, &scratch] {
    while (ABSL_PREDICT_FALSE(in_.HasBufferedInput()) &&
           ReadAndDispatch(absl::MakeSpan(scratch)) != ReadOutcome::kStop) {
    }
    in_.EndReads();
  };
  ReceiveRing* ring = ReaderRing();
  for (;;) {
    // Wait first: right after a request goes out, its reply is not there.
    // Until the server's preface is in, no longer than it may take.
    absl::Time wait_deadline = ABSL_PREDICT_TRUE(in_.preface_received())
                                   ? deadline
                                   : PrefaceWaitDeadline(deadline);
    // With keepalive, no longer than until it must look again; the wait
    // that ends then returns (as if at the deadline), and the caller's
    // next ReadUntil() looks.
    if (ABSL_PREDICT_FALSE(keepalive_enabled())) {
      absl::Time look_again;
      if (!KeepAliveAsReader(absl::Now(), &look_again)) return;
      wait_deadline = std::min(wait_deadline, look_again);
    }
    bool woken = false;
    // With the ring the wait reads too: what it brought is dispatched.
    ReadOutcome received = ReadOutcome::kFull;
    if (ring != nullptr) {
      received = ReceiveAndDispatch(*ring, absl::MakeSpan(scratch),
                                    wait_deadline, &woken);
      if (received == ReadOutcome::kStop) return;
      if (ABSL_PREDICT_FALSE(received == ReadOutcome::kRingFailed)) {
        DropRing();
        ring = nullptr;
        continue;
      }
      if (received == ReadOutcome::kDrained && !woken) {
        FailIfPrefaceLate();
        return;  // deadline
      }
    } else if (!WaitForInput(wait_deadline, &woken)) {
      FailIfPrefaceLate();
      return;  // deadline
    }
    if (woken && DrainEventFd(wake_fd_.get())) {
      // Another thread changed a call's state (a cancel): look again.
      MutexLock lock(&mu_);
      if (ready()) return;
    }
    if (ring != nullptr) {
      if (received != ReadOutcome::kDrained) {
        MutexLock lock(&mu_);
        if (ready()) return;
      }
      // Unless the read filled its space, the socket is most likely
      // drained: wait again.
      if (received != ReadOutcome::kFull) continue;
    }
    for (;;) {
      const ReadOutcome read = ReadAndDispatch(absl::MakeSpan(scratch));
      if (read == ReadOutcome::kStop) return;
      if (read == ReadOutcome::kDrained) break;  // wait again
      {
        MutexLock lock(&mu_);
        if (ready()) return;
      }
      if (read == ReadOutcome::kShort) break;
    }
  }
}

bool ClientConnection::WaitForInput(absl::Time deadline, bool* woken) {
  // TLS: plaintext the session holds, which poll() would not report.
  if (ABSL_PREDICT_FALSE(in_.HasBufferedInput())) return true;
  return WaitFor(fd_.get(), POLLIN, deadline, wake_fd_.get(), woken).ok();
}

ReceiveRing* ClientConnection::ReaderRing() {
  if (ABSL_PREDICT_TRUE(ring_tried_)) return ring_.get();
  ring_tried_ = true;
  if (tls_ != nullptr) return nullptr;  // the ring would read ciphertext
  if (in_.max_fds_per_message() == 0) {
    ring_ = ReceiveRing::Create(wake_fd_.get());
  }
  if (ring_ != nullptr) {
    ring_fd_for_fork_.store(ring_->fd(), std::memory_order_release);
  }
  return ring_.get();
}

void ClientConnection::DropRing() {
  ring_fd_for_fork_.store(-1, std::memory_order_release);
  ring_.reset();
}

absl::Time ClientConnection::PrefaceWaitDeadline(absl::Time deadline) {
  return std::min(deadline, PrefaceDeadline());
}

absl::Time ClientConnection::PrefaceDeadline() {
  if (preface_arrived_.load(std::memory_order_acquire)) {
    return absl::InfiniteFuture();
  }
  MutexLock lock(&mu_);
  if (preface_deadline_ == absl::InfiniteFuture()) {
    preface_deadline_ = absl::Now() + preface_timeout_;
  }
  return preface_deadline_;
}

bool ClientConnection::FailIfPrefaceLate() {
  if (preface_arrived_.load(std::memory_order_acquire)) return false;
  {
    MutexLock lock(&mu_);
    if (absl::Now() < preface_deadline_) return false;
  }
  Fail(PrefaceLateError());
  return true;
}

absl::Status ClientConnection::PrefaceLateError() const {
  return absl::UnavailableError(absl::StrCat(
      "server at ", target_, " sent no preface within ",
      absl::FormatDuration(preface_timeout_), " (is it a sockrpc server?)"));
}

ClientConnection::ReadOutcome ClientConnection::ReadAndDispatch(
    absl::Span<char> scratch) {
  absl::Status error;
  const IncomingFrames::ReadResult read = in_.ReadOnce(scratch, &error);
  return Dispatch(read, error);
}

ClientConnection::ReadOutcome ClientConnection::ReceiveAndDispatch(
    ReceiveRing& ring, absl::Span<char> scratch, absl::Time deadline,
    bool* woken) {
  absl::Status error;
  const IncomingFrames::ReadResult read =
      in_.ReceiveOnce(ring, scratch, deadline, woken, &error);
  return Dispatch(read, error);
}

ClientConnection::ReadOutcome ClientConnection::Dispatch(
    IncomingFrames::ReadResult read, const absl::Status& error) {
  switch (read) {
    case IncomingFrames::ReadResult::kFailed:
      Fail(error);
      return ReadOutcome::kStop;
    case IncomingFrames::ReadResult::kDrained:
      return ReadOutcome::kDrained;
    case IncomingFrames::ReadResult::kRingFailed:
      return ReadOutcome::kRingFailed;
    case IncomingFrames::ReadResult::kShort:
    case IncomingFrames::ReadResult::kFull:
      break;
  }
  const bool processed = ProcessFrames();
  NotePrefaceArrival();
  if (!processed) return ReadOutcome::kStop;
  return read == IncomingFrames::ReadResult::kFull ? ReadOutcome::kFull
                                                   : ReadOutcome::kShort;
}

}  // namespace sockrpc
