// ClientConnection's side of the channel's event loop: the loop's reads
// (its solo connection's through its ring) and flushes, the re-arming of
// its edge-triggered registration as the reader role changes hands, and
// the non-blocking operations of callback calls
// (see client/client_connection.h and client/client_event_loop.h).
#include <sys/epoll.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "client/client_callback_call.h"
#include "client/client_connection.h"
#include "client/client_event_loop.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// The loop reads at most this many times per event, so that one busy
// connection does not keep it from the others and from its calls; what is
// left is reported again (Arm()'s `report_again`), or, solo, read by the
// next wait.
constexpr int kMaxReadsPerEvent = 16;

}  // namespace

// ---- The reader role and the loop's registration ----

absl::Time ClientConnection::ReadForLoop() {
  {
    MutexLock lock(&mu_);
    // Another thread reads: it re-arms the loop when it is done
    // (RearmForLoop(), next, notes that the loop wants to read).
    if (!broken_.ok() || reader_active_) return absl::InfiniteFuture();
    reader_active_ = true;
  }
  char scratch[kReadScratchSize];
  // (Past kMaxReadsPerEvent only while TLS holds input that the loop's
  // epoll would not report.)
  ReadOutcome outcome = ReadOutcome::kDrained;
  for (int reads = 0; reads < kMaxReadsPerEvent || in_.HasBufferedInput();
       ++reads) {
    outcome = ReadAndDispatch(absl::MakeSpan(scratch));
    if (outcome != ReadOutcome::kFull) break;
  }
  in_.EndReads();
  // What was read restarts the keepalive's quiet time.
  absl::Time keepalive_look = absl::InfiniteFuture();
  if (ABSL_PREDICT_FALSE(keepalive_enabled())) {
    KeepAliveAsReader(absl::Now(), &keepalive_look);
  }
  MutexLock lock(&mu_);
  ReleaseReaderLocked();
  // Stopped with bytes left: no new edge would report them.
  if (outcome == ReadOutcome::kFull) RearmLocked(/*report_again=*/true);
  return keepalive_look;
}

ClientConnection::LoopReceive ClientConnection::ReceiveForLoop(
    ReceiveRing& ring, absl::Time deadline, bool* woken,
    absl::Time* keepalive_look) {
  *woken = false;
  *keepalive_look = absl::InfiniteFuture();
  {
    MutexLock lock(&mu_);
    if (!broken_.ok() || reader_active_ || blocking_waiters_ > 0) {
      // The role is another thread's, or soon will be: epoll again (which
      // reports what that thread leaves, ReleaseReaderLocked()).
      EndLoopSoloLocked();
      return LoopReceive::kRefused;
    }
    if (ABSL_PREDICT_FALSE(!loop_solo_)) {
      loop_solo_ = true;
      RearmLocked();  // input leaves the registration
    }
    reader_active_ = true;
    loop_receiving_ = true;
  }
  char scratch[kReadScratchSize];
  ReadOutcome outcome =
      ReceiveAndDispatch(ring, absl::MakeSpan(scratch), deadline, woken);
  // (What is left after kMaxReadsPerEvent reads, the next wait takes.)
  for (int reads = 1;
       outcome == ReadOutcome::kFull && reads < kMaxReadsPerEvent; ++reads) {
    outcome = ReadAndDispatch(absl::MakeSpan(scratch));
  }
  in_.EndReads();
  if (ABSL_PREDICT_FALSE(keepalive_enabled())) {
    KeepAliveAsReader(absl::Now(), keepalive_look);
  }
  MutexLock lock(&mu_);
  loop_receiving_ = false;
  ReleaseReaderLocked();
  if (ABSL_PREDICT_FALSE(outcome == ReadOutcome::kRingFailed)) {
    EndLoopSoloLocked();
    return LoopReceive::kRingFailed;
  }
  return LoopReceive::kWaited;
}

void ClientConnection::EndLoopSolo() {
  MutexLock lock(&mu_);
  EndLoopSoloLocked();
}

void ClientConnection::EndLoopSoloLocked() {
  if (!loop_solo_) return;
  loop_solo_ = false;
  // Bytes may have come while input was out of the registration.
  RearmLocked(/*report_again=*/true);
}

void ClientConnection::FlushForLoop() {
  absl::Status sent;
  {
    MutexLock write_lock(&write_mu_);
    {
      // What is left after this write waits for EPOLLOUT (RearmLocked()).
      MutexLock lock(&mu_);
      loop_flush_due_ = false;
    }
    if (out_.held_empty()) return;
    size_t written;
    sent = out_.WriteNoWait("", &written);
  }
  if (!sent.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
}

void ClientConnection::RearmForLoop() {
  MutexLock lock(&mu_);
  RearmLocked();
}

void ClientConnection::RearmLocked(bool report_again) {
  // A failed connection is left as it is (its socket shut down, whose
  // EPOLLHUP an edge-triggered registration reports once).
  if (!broken_.ok()) return;
  uint32_t events = 0;
  if (ABSL_PREDICT_TRUE(!loop_solo_)) {
    // Input stays armed while another thread holds the reader role: new
    // bytes wake the loop, which finds the role taken and leaves them to
    // that thread; the note here has the thread report what is left as it
    // gives the role up (ReleaseReaderLocked()).
    if (reader_active_) loop_wants_read_ = true;
    events = EPOLLIN | EPOLLRDHUP;
  } else {
    // Solo: the loop's ring reads the socket whatever epoll says.
    report_again = false;
  }
  if (out_.has_held() && !loop_flush_due_) events |= EPOLLOUT;
  loop_->Arm(this, fd_.get(), events, report_again);
}

void ClientConnection::ScheduleLocked(const ClientCallState& stream) {
  loop_->Schedule(stream.callback_);
}

// ---- Callback calls ----

ClientConnection::StreamView ClientConnection::Peek(
    const ClientCallState& stream) {
  MutexLock lock(&mu_);
  StreamView view;
  view.done = stream.done_;
  if (view.done) view.status = Unshared(stream.status_);
  view.got_metadata = stream.got_metadata_;
  view.got_reply = stream.got_reply_;
  view.opening = stream.pending_open_ != nullptr;
  return view;
}

void ClientConnection::AttachCallback(ClientCallState& stream,
                                      internal::ClientCallbackCall* call) {
  MutexLock lock(&mu_);
  stream.callback_ = call;
}

bool ClientConnection::TakeMessage(ClientCallState& stream,
                                   std::string* payload, std::vector<Fd>* fds,
                                   bool* ended) {
  uint32_t acknowledge = 0;
  {
    MutexLock lock(&mu_);
    if (stream.inbox_.empty()) {
      *ended = stream.done_;
      return false;
    }
    *payload = stream.inbox_.Pop(fds);
    stream.unacknowledged_ += static_cast<uint32_t>(payload->size());
    if (!stream.done_ && stream.unacknowledged_ >= kInitialWindowSize / 2) {
      acknowledge = stream.unacknowledged_;
      stream.unacknowledged_ = 0;
    }
  }
  if (acknowledge > 0) SendWindowUpdate(stream.id_, acknowledge);
  return true;
}

ClientConnection::WriteOutcome ClientConnection::WriteNoWait(
    ClientCallState& stream, std::string* frame) {
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return WriteOutcome::kEnded;
    if (stream.send_window_ <= 0) return WriteOutcome::kNoWindow;
    stream.send_window_ -=
        static_cast<int64_t>(frame->size() - kFrameHeaderSize);
  }
  PatchStreamId(&(*frame)[0], stream.id_);
  SendNoWait(*frame);
  return WriteOutcome::kSent;
}

bool ClientConnection::WritesDoneNoWait(ClientCallState& stream) {
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return false;
    stream.half_closed_ = true;
  }
  std::string frame;
  AppendRawFrame(&frame, FrameType::kHalfClose, 0, stream.id_, "");
  SendNoWait(frame);
  return true;
}

void ClientConnection::Expire(ClientCallState& stream) {
  uint32_t id;
  {
    MutexLock lock(&mu_);
    if (stream.done_) return;
    id = stream.id_;
    EndStreamLocked(stream, absl::DeadlineExceededError(absl::StrCat(
                                "deadline exceeded waiting for ", target_)));
    if (reader_active_ && wake_fd_.valid()) SignalEventFd(wake_fd_.get());
  }
  if (id != 0) SendCancel(id, "deadline exceeded");
}

}  // namespace sockrpc
