// ServerCallState for callback methods: the reactor's operations, and the
// running of its reactions (the rules are in server/server_callback.h).
//
// A call's reactions are queued in reactions_ under mu_ by whoever makes
// them due (a Start*() or Finish() on any thread, the reader, a cancel) and
// run by exactly one thread at a time, the one that set reacting_: the
// thread that started the call, the reader that made them due (through
// ReadyCalls), or a server thread the call was posted to. An operation
// started from inside a reaction only queues; the running thread picks it
// up when the reaction returns. OnDone() runs once nothing else is due,
// after the reactor finished and the call ended.
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/output_batch.h"
#include "server/server_call.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"
#include "transport/frame.h"

namespace sockrpc {

ServerUnaryReactor* ServerCallState::default_reactor() {
  MutexLock lock(&mu_);
  if (!default_reactor_.has_value()) default_reactor_.emplace(this);
  return &*default_reactor_;
}

bool ServerCallState::StartCallback(absl::string_view request) {
  absl::Status refused;
  if (context_.deadline() != absl::InfiniteFuture() &&
      absl::Now() > context_.deadline()) {
    refused = absl::DeadlineExceededError(
        "the call's deadline passed before it started");
  } else {
    refused = StartInterceptors();
  }
  if (!refused.ok()) {
    EndWithoutReactor(EndCall(nullptr, refused));
    return true;
  }
  std::optional<absl::Status> ended_before_start;
  {
    MutexLock lock(&mu_);
    if (finished_) ended_before_start = cancel_reason_;  // cancelled
  }
  if (ended_before_start.has_value()) {
    EndWithoutReactor(*ended_before_start);
    return true;
  }
  // What the method and its first reactions write (to any call) leaves in
  // one write per connection, when they return.
  OutputBatch batch;
  start_request_ = request;
  internal::ServerReactorBase* reactor =
      method_->handler->StartCallback(this);
  start_request_ = absl::string_view();
  if (reactor == nullptr) return false;  // its blocking form, please

  bool done_here;
  {
    MutexLock lock(&mu_);
    reactor_ = reactor;
    if (cancelled_) {
      // Ended while the handler started: the reactor hears of it first.
      reactions_.push_back({Reaction::kCancel, true});
    }
    // A reactor bound from the start (the default one) that finished
    // before the handler returned has ended the call: OnDone() is due, and
    // as reacting_ is ours, ReactLoop() below runs it, here.
    (void)DoneDueLocked();
    done_here = done_due_;
  }
  if (!done_here) {
    // The reactor outlives this start: the call keeps itself alive, and
    // the runtime keeps it for ForceDone() at shutdown.
    keep_alive_ = shared_from_this();
    connection_->runtime().ReactorStarted(keep_alive_);
  }
  // Operations the handler started before it returned go to the call now;
  // reacting_ is still ours, so none of them runs a reaction.
  reactor->Bind(this);
  ReactLoop();
  return true;
}

void ServerCallState::EndWithoutReactor(const absl::Status& status) {
  {
    MutexLock lock(&mu_);
    reacting_ = false;
    reactions_.clear();
  }
  EndInterceptors(status);
  method_->handler->ReleaseMessages(std::move(messages_));
  connection_->runtime().CallFinished();
}

// ---- Operations: queue reactions, never run them ----

bool ServerCallState::ScheduleLocked() {
  if (reacting_ || scheduled_) return false;
  scheduled_ = true;
  return true;
}

bool ServerCallState::QueueReactionLocked(
    Reaction reaction, bool ok, google::protobuf::MessageLite* message) {
  reactions_.push_back({reaction, ok, message});
  return ScheduleLocked();
}

bool ServerCallState::DoneDueLocked() {
  if (reactor_ == nullptr || done_due_ || !reactor_finished_ || !finished_ ||
      reactor_ending_) {
    return false;
  }
  done_due_ = true;
  return ScheduleLocked();
}

void ServerCallState::Schedule(ReadyCalls* ready) {
  if (ready != nullptr) {
    ServerCall& call = ready->emplace_back();
    call.state = shared_from_this();
    call.reactions = true;
    return;
  }
  connection_->runtime().PostReactions(shared_from_this());
}

void ServerCallState::StartSendInitialMetadata() {
  bool schedule;
  {
    MutexLock lock(&mu_);
    const bool ok = !cancelled_ && !finished_ && !reactor_finished_;
    if (ok) {
      std::string out;
      AppendInitialMetadataLocked(&out);
      if (!out.empty()) connection_->Send(std::move(out));
    }
    schedule = QueueReactionLocked(Reaction::kInitialMetadataDone, ok);
  }
  if (schedule) Schedule(nullptr);
}

void ServerCallState::StartRead(google::protobuf::MessageLite* message) {
  bool schedule;
  bool parsed = true;
  uint32_t acknowledge = 0;
  {
    MutexLock lock(&mu_);
    if (read_target_ != nullptr) {
      // One read at a time: this one fails, the first still waits.
      connection_->runtime().Log(absl::StrCat(
          context_.method(), ": StartRead() before the previous read's "
          "OnReadDone()"));
      schedule = QueueReactionLocked(Reaction::kReadDone, false);
    } else if (cancelled_ || finished_) {
      schedule = QueueReactionLocked(Reaction::kReadDone, false);
    } else if (!InboxEmptyLocked()) {
      std::string payload = inbox_->Pop(&request_fds_);
      inbox_bytes_ -= static_cast<int64_t>(payload.size());
      acknowledge = ConsumeLocked(payload.size());
      parsed = message->ParseFromString(payload);
      schedule = QueueReactionLocked(Reaction::kReadDone, parsed, message);
    } else if (half_closed_) {
      schedule = QueueReactionLocked(Reaction::kReadDone, false);
    } else {
      read_target_ = message;  // OnMessage() fills it in
      schedule = false;
      // The client may wait for the hinted writes before it sends more.
      SendHintedLocked();
    }
  }
  if (acknowledge > 0) connection_->SendWindowUpdate(stream_id_, acknowledge);
  if (!parsed) {
    Cancel(absl::InternalError(absl::StrCat(
               "failed to parse a request message for ", context_.method())),
           /*send_status=*/true);
  }
  if (schedule) Schedule(nullptr);
}

void ServerCallState::StartWrite(const google::protobuf::MessageLite& message,
                                 WriteOptions options) {
  if (ABSL_PREDICT_FALSE(interceptors_started() > 0)) {
    // The reactor may write from a thread of its own, racing its Finish():
    // the call must outlive the hooks (its context) and the refusal.
    std::shared_ptr<ServerCallState> self = shared_from_this();
    if (!ReplyPassesHooks(message)) return;
  }
  const size_t size = message.ByteSizeLong();
  std::string frame(kFrameHeaderSize + size, '\0');
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(&frame[kFrameHeaderSize]));
  StartWriteFrame(std::move(frame), {}, options);
}

void ServerCallState::StartEncodedWrite(std::string frame,
                                        WriteOptions options) {
  if (ABSL_PREDICT_FALSE(interceptors_started() > 0)) {
    // The hooks see a message: a copy parsed back from the encoding.
    std::unique_ptr<google::protobuf::MessageLite> message =
        method_->handler->NewReply();
    absl::string_view encoded(frame);
    encoded.remove_prefix(kFrameHeaderSize);
    if (message->ParseFromArray(encoded.data(),
                                static_cast<int>(encoded.size())) &&
        !ReplyPassesHooks(*message)) {
      return;
    }
  }
  StartWriteFrame(std::move(frame), {}, options);
}

bool ServerCallState::ReplyPassesHooks(
    const google::protobuf::MessageLite& message) {
  absl::Status hooked = RunReplyHooks(message);
  if (hooked.ok()) return true;
  // The call ends with the hook's status; this write fails.
  EndForHook(std::move(hooked));
  bool schedule;
  {
    MutexLock lock(&mu_);
    schedule = QueueReactionLocked(Reaction::kWriteDone, false);
  }
  if (schedule) Schedule(nullptr);
  return false;
}

void ServerCallState::StartWriteFrame(std::string frame, std::vector<Fd> fds,
                                      WriteOptions options) {
  const size_t size = frame.size() - kFrameHeaderSize;
  const uint32_t max_frame_size = connection_->max_frame_size();
  bool schedule = false;
  absl::Status refused;
  {
    MutexLock lock(&mu_);
    if (cancelled_ || finished_ || reactor_finished_) {
      schedule = QueueReactionLocked(Reaction::kWriteDone, false);
    } else if (size > max_frame_size) {
      // The call fails, as a blocking handler's Write() of it would.
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "reply too large: message of ", size,
          " bytes exceeds the frame limit of ", max_frame_size, " bytes"));
      schedule = QueueReactionLocked(Reaction::kWriteDone, false);
    } else if (ABSL_PREDICT_FALSE(context_.fds_.attached() > 0) &&
               !(refused = TakeReplyFds(&fds)).ok()) {
      schedule = QueueReactionLocked(Reaction::kWriteDone, false);
    } else if (!held_writes_.empty() || send_window_ <= 0) {
      // Until WINDOW_UPDATE; the hinted writes go now, as the client may
      // return window only once it has them.
      SendHintedLocked();
      held_writes_.push_back(HeldWrite{std::move(frame), std::move(fds)});
    } else {
      SendWriteLocked(std::move(frame), std::move(fds),
                      options.get_buffer_hint());
      schedule = QueueReactionLocked(Reaction::kWriteDone, true);
    }
  }
  if (!refused.ok()) Cancel(refused, /*send_status=*/true);
  if (schedule) Schedule(nullptr);
}

void ServerCallState::SendWriteLocked(std::string frame, std::vector<Fd> fds,
                                      bool hinted) {
  const size_t size = frame.size() - kFrameHeaderSize;
  FrameHeader header;
  header.length = static_cast<uint32_t>(size);
  header.stream_id = stream_id_;
  header.type = static_cast<uint8_t>(FrameType::kMessage);
  EncodeFrameHeader(header, &frame[0]);
  send_window_ -= static_cast<int64_t>(size);
  // The hinted writes and the initial metadata first. Sent while holding
  // mu_, so that writes leave in order and before the call's STATUS.
  std::string out = TakeHintedLocked();
  AppendInitialMetadataLocked(&out);
  if (ABSL_PREDICT_FALSE(!fds.empty())) {
    const size_t fds_offset = AppendFdsFrame(&out, fds.size());
    out += frame;
    connection_->SendWithFds(std::move(out), fds_offset, std::move(fds));
    return;
  }
  if (out.empty()) {
    out = std::move(frame);
  } else {
    out += frame;
  }
  if (hinted && out.size() < kMaxHintedBytes) {
    HoldHintedLocked(std::move(out));
    return;
  }
  connection_->Send(std::move(out));
}

bool ServerCallState::SendHeldWritesLocked(absl::Status* status,
                                           bool* schedule) {
  size_t sent = 0;
  while (sent < held_writes_.size() && send_window_ > 0 && !finished_) {
    HeldWrite& write = held_writes_[sent++];
    SendWriteLocked(std::move(write.frame), std::move(write.fds));
    *schedule |= QueueReactionLocked(Reaction::kWriteDone, true);
  }
  held_writes_.erase(held_writes_.begin(), held_writes_.begin() + sent);
  if (!held_writes_.empty() || !held_finish_.has_value()) return false;
  *status = std::move(*held_finish_);
  held_finish_.reset();
  reactor_ending_ = true;  // the caller's EndReactorCall() clears it
  return true;
}

void ServerCallState::Finish(absl::Status status) {
  {
    MutexLock lock(&mu_);
    if (reactor_finished_) {
      connection_->runtime().Log(absl::StrCat(
          context_.method(), ": the reactor called Finish() twice; the "
          "second (", status.ToString(), ") is ignored"));
      return;
    }
    reactor_finished_ = true;
    if (!finished_ && !held_writes_.empty()) {
      held_finish_ = std::move(status);  // after the held writes
      return;
    }
    reactor_ending_ = true;
  }
  EndReactorCall(std::move(status));
}

void ServerCallState::EndReactorCall(absl::Status status) {
  const bool single_reply = method_->kind == RpcKind::kUnary ||
                            method_->kind == RpcKind::kClientStreaming;
  const google::protobuf::MessageLite* reply =
      status.ok() && single_reply ? reply_ : nullptr;
  (void)EndCall(reply, std::move(status));
  bool schedule;
  {
    MutexLock lock(&mu_);
    reactor_ending_ = false;  // from here on OnDone() may run, and free us
    schedule = DoneDueLocked();
  }
  if (schedule) Schedule(nullptr);
}

// ---- Running reactions ----

void ServerCallState::RunReactions() {
  {
    MutexLock lock(&mu_);
    scheduled_ = false;
    if (reacting_ || done_) return;
    reacting_ = true;
  }
  OutputBatch batch;
  ReactLoop();
}

void ServerCallState::ReactLoop() {
  internal::ServerReactorBase* reactor;
  absl::Status ended_with;
  for (;;) {
    DueReaction next;
    {
      MutexLock lock(&mu_);
      reactor = reactor_;
      if (reactions_.empty()) {
        if (!done_due_ || done_) {
          reacting_ = false;
          return;
        }
        // Done: nothing runs or is scheduled again (reacting_ stays set).
        done_ = true;
        ended_with = cancel_reason_;  // how the call ended (see EndCall)
        break;
      }
      next = reactions_.front();
      reactions_.erase(reactions_.begin());
    }
    switch (next.reaction) {
      case Reaction::kInitialMetadataDone:
        reactor->OnSendInitialMetadataDone(next.ok);
        break;
      case Reaction::kReadDone: {
        bool ok = next.ok;
        if (ok && next.message != nullptr) {
          absl::Status hooked = InterceptRequest(*next.message);
          if (ABSL_PREDICT_FALSE(!hooked.ok())) {
            EndForHook(std::move(hooked));
            ok = false;
          }
        }
        reactor->OnReadDone(ok);
        break;
      }
      case Reaction::kWriteDone:
        reactor->OnWriteDone(next.ok);
        break;
      case Reaction::kCancel:
        reactor->OnCancel();
        break;
    }
  }
  RunDone(reactor, ended_with);
}

void ServerCallState::RunDone(internal::ServerReactorBase* reactor,
                              const absl::Status& status) {
  EndInterceptors(status);
  reactor->OnDone();
  ServerRuntime& runtime = connection_->runtime();
  // (A call done at its start was never kept: see StartCallback().)
  if (keep_alive_ != nullptr) runtime.ReactorDone(this);
  method_->handler->ReleaseMessages(std::move(messages_));
  runtime.CallFinished();
  // The last reference may be this one: nothing touches the call after.
  std::shared_ptr<ServerCallState> self = std::move(keep_alive_);
}

void ServerCallState::ForceDone() {
  // No server thread runs any more: this one runs what is still queued
  // (OnCancel(), which may well Finish()), and OnDone() if that is due.
  {
    MutexLock lock(&mu_);
    if (reactor_ == nullptr || done_) return;
    reacting_ = true;
  }
  ReactLoop();
  {
    MutexLock lock(&mu_);
    // A Finish() on its way out (another thread's) first.
    mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !reactor_ending_;
    });
    if (done_) return;
    if (!reactor_finished_) {
      connection_->runtime().Log(absl::StrCat(
          context_.method(), ": a reactor never called Finish(); its call "
          "ends at shutdown"));
    }
    reactor_finished_ = true;
    finished_ = true;
    for (size_t i = 0; i < held_writes_.size(); ++i) {
      reactions_.push_back({Reaction::kWriteDone, false});
    }
    held_writes_.clear();
    held_finish_.reset();
    done_due_ = true;
    reacting_ = true;
  }
  OutputBatch batch;
  ReactLoop();
}

}  // namespace sockrpc
