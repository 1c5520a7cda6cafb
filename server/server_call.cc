#include "server/server_call.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/interceptor.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"
#include "server/server_stats.h"
#include "transport/fd_fields.h"
#include "transport/wire_codec.h"

namespace sockrpc {
void ServerCall::Run() {
  state->Run(request());
  if (!request_buffer.empty()) {
    state->connection().GiveBuffer(std::move(request_buffer));
  }
}

bool ServerCall::RunReactionsOrStart() {
  if (reactions) {
    state->RunReactions();
    return true;
  }
  // A blocking form the handler asked for keeps its parsed request.
  const bool started = state->StartCallback(request());
  if (!request_buffer.empty()) {
    state->connection().GiveBuffer(std::move(request_buffer));
  }
  return started;
}

bool ServerCallState::KeepSmallRequest(absl::string_view request) {
  if (request.size() > kSmallRequestSize) return false;
  if (!request.empty()) {
    std::memcpy(small_request_, request.data(), request.size());
  }
  return true;
}

ServerCallState::ServerCallState(std::shared_ptr<ServerConnection> connection,
                                 uint32_t stream_id,
                                 const Service::Method* method,
                                 Metadata* client_metadata, absl::Time deadline,
                                 MethodStats* stats, int64_t start_nanos)
    : connection_(std::move(connection)),
      stream_id_(stream_id),
      method_(method),
      stats_(stats),
      send_window_(kInitialWindowSize) {
  if (ABSL_PREDICT_FALSE(stats_ != nullptr)) {
    stats_start_ = start_nanos;
    stats_->CallStarted();
  }
  context_.call_ = this;
  context_.method_ = &method->full_name;
  context_.deadline_ = deadline;
  if (client_metadata != nullptr) {
    context_.client_metadata_ = std::move(*client_metadata);
  }
  context_.peer_ = &connection_->peer();
  context_.peer_credentials_ = connection_->peer_credentials();
  context_.tls_peer_ = connection_->tls_peer();
}

ServerCallState::~ServerCallState() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // No lock: this is the last owner (see end_counted_).
  if (ABSL_PREDICT_FALSE(stats_ != nullptr) && !end_counted_) {
    CountEnd(absl::StatusCode::kCancelled);  // it ended no other way
  }
  if (counted_while_awaiting_ && !started_.load()) {
    connection_->runtime().CallFinished();  // its request never came
  }
  if (const size_t fds = fds_counted_.load(); fds > 0) {
    connection_->ReleaseFds(fds);
  }
}

absl::Status ServerCallState::TakeRequestFds(
    const google::protobuf::MessageLite& request) {
  std::vector<Fd> fds = std::move(request_fds_);
  request_fds_.clear();
  if (!fds.empty()) {
    absl::Status matched = MatchFdFields(request, &fds);
    if (!matched.ok()) return matched;  // `fds` are closed here
  }
  context_.fds_.Received(std::move(fds));
  return absl::OkStatus();
}

void ServerCallState::CountWhileAwaitingRequest() {
  connection_->runtime().CallStarted();
  counted_while_awaiting_ = true;
}

void ServerCallState::Run(absl::string_view request) {
  // A callback method's blocking form: StartCallback() ran the
  // interceptors already.
  if (ABSL_PREDICT_FALSE(!is_callback() && connection_->has_interceptors())) {
    absl::Status started = StartInterceptors();
    if (!started.ok()) {
      EndInterceptors(EndCall(nullptr, std::move(started)));
      return;
    }
  }
  EndInterceptors(RunHandler(request));
}

// (Inline: Run() is its only caller, and every call passes here.)
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status ServerCallState::RunHandler(
    absl::string_view request) {
  if (context_.deadline() != absl::InfiniteFuture() &&
      absl::Now() > context_.deadline()) {
    return EndCall(nullptr, absl::DeadlineExceededError(
                                "the call's deadline passed before it started"));
  }
  if (is_callback()) {
    absl::Status status = method_->handler->RunBlocking(this, this);
    return EndCall(status.ok() ? reply_ : nullptr, status);
  }
  if (method_->kind == RpcKind::kUnary) {
    // Ends the call while the reply is still alive.
    return method_->handler->RunUnary(
        &context_, request,
        [this](google::protobuf::MessageLite& request) {
          return InterceptRequest(request);
        },
        [this](const google::protobuf::MessageLite* reply,
               absl::Status status) { return EndCall(reply, status); });
  }
  absl::Status status = method_->handler->RunStream(&context_, this);
  return EndCall(nullptr, status);
}

bool ServerCallState::OnMessage(absl::string_view payload, std::vector<Fd> fds,
                                ReadyCalls* ready) {
  fds_counted_ += fds.size();
  uint32_t acknowledge = 0;
  bool parsed = true;
  bool schedule = false;
  {
    MutexLock lock(&mu_);
    if (cancelled_ || half_closed_) return true;  // late frame: ignore
    // The client may overshoot its window by one message at most.
    if (inbox_bytes_ > static_cast<int64_t>(kInitialWindowSize)) return false;
    if (read_target_ == nullptr) {
      if (inbox_ == nullptr) inbox_ = std::make_unique<MessageQueue>();
      inbox_->Push(payload, std::move(fds));
      inbox_bytes_ += static_cast<int64_t>(payload.size());
      return true;
    }
    // A reactor's read waits for this message: straight into it.
    google::protobuf::MessageLite* target = read_target_;
    read_target_ = nullptr;
    request_fds_ = std::move(fds);  // for the read's InterceptRequest()
    parsed = target->ParseFromArray(payload.data(),
                                    static_cast<int>(payload.size()));
    acknowledge = ConsumeLocked(payload.size());
    schedule = QueueReactionLocked(Reaction::kReadDone, parsed, target);
  }
  if (acknowledge > 0) connection_->SendWindowUpdate(stream_id_, acknowledge);
  if (!parsed) {
    Cancel(absl::InternalError(absl::StrCat(
               "failed to parse a request message for ", context_.method())),
           /*send_status=*/true);
  }
  if (schedule) Schedule(ready);
  return true;
}

void ServerCallState::OnHalfClose(ReadyCalls* ready) {
  bool schedule = false;
  {
    MutexLock lock(&mu_);
    half_closed_ = true;
    if (read_target_ != nullptr) {  // a reactor's read ends: no more
      read_target_ = nullptr;
      schedule = QueueReactionLocked(Reaction::kReadDone, false);
    }
  }
  if (schedule) Schedule(ready);
}

void ServerCallState::OnWindowUpdate(uint32_t increment, ReadyCalls* ready) {
  absl::Status finish;
  bool finish_due = false;
  bool schedule = false;
  {
    MutexLock lock(&mu_);
    send_window_ += increment;
    if (!held_writes_.empty() || held_finish_.has_value()) {
      finish_due = SendHeldWritesLocked(&finish, &schedule);
    }
  }
  if (finish_due) EndReactorCall(std::move(finish));
  if (schedule) Schedule(ready);
}

uint32_t ServerCallState::ConsumeLocked(size_t size) {
  // Give the client its window back in batches of half a window.
  unacknowledged_ += static_cast<uint32_t>(size);
  if (unacknowledged_ < kInitialWindowSize / 2 || half_closed_) return 0;
  const uint32_t acknowledge = unacknowledged_;
  unacknowledged_ = 0;
  return acknowledge;
}

void ServerCallState::Cancel(const absl::Status& why, bool send_status) {
  bool schedule = false;
  {
    MutexLock lock(&mu_);
    if (cancelled_ || finished_) return;
    cancelled_ = true;
    cancel_reason_ = why;
    if (send_status) {
      forced_status_ = why;
    } else {
      finished_ = true;  // the client hears nothing more
      CountEndLocked(absl::StatusCode::kCancelled);
    }
    if (reactor_ != nullptr) {
      // What the reactor waits for fails, and it hears of the end.
      if (read_target_ != nullptr) {
        read_target_ = nullptr;
        schedule |= QueueReactionLocked(Reaction::kReadDone, false);
      }
      for (size_t i = 0; i < held_writes_.size(); ++i) {
        schedule |= QueueReactionLocked(Reaction::kWriteDone, false);
      }
      held_writes_.clear();
      held_finish_.reset();
      if (!reactor_finished_) {
        schedule |= QueueReactionLocked(Reaction::kCancel, true);
      }
    }
  }
  if (send_status) {
    // Sends `why` now; the handler's own outcome, whenever it comes, is
    // dropped by EndCall().
    (void)EndCall(nullptr, why);
  } else {
    connection_->RemoveCall(stream_id_);
  }
  {
    MutexLock lock(&mu_);
    schedule |= DoneDueLocked();
  }
  if (schedule) Schedule(nullptr);
}

bool ServerCallState::IsCancelled() const {
  MutexLock lock(&mu_);
  return cancelled_;
}

bool ServerCallState::WaitForCancellation(absl::Time deadline) const {
  MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(
      [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return cancelled_; },
      deadline);
  return cancelled_;
}

bool ServerCallState::Read(google::protobuf::MessageLite* message) {
  std::string payload;
  uint32_t acknowledge = 0;
  {
    MutexLock lock(&mu_);
    auto readable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !InboxEmptyLocked() || half_closed_ || cancelled_ || finished_;
    };
    if (!readable()) {
      // The client may wait for the replies that wait here before it
      // sends more.
      SendHintedLocked();
      mu_.Await(readable);
    }
    if (InboxEmptyLocked() || cancelled_ || finished_) return false;
    payload = inbox_->Pop(&request_fds_);
    inbox_bytes_ -= static_cast<int64_t>(payload.size());
    acknowledge = ConsumeLocked(payload.size());
  }
  if (acknowledge > 0) connection_->SendWindowUpdate(stream_id_, acknowledge);
  if (!message->ParseFromString(payload)) {
    (void)EndCall(nullptr, absl::InternalError(absl::StrCat(
                        "failed to parse a request message for ",
                        context_.method())));
    return false;
  }
  absl::Status hooked = InterceptRequest(*message);
  if (ABSL_PREDICT_FALSE(!hooked.ok())) {
    EndForHook(std::move(hooked));
    return false;
  }
  return true;
}

bool ServerCallState::Write(const google::protobuf::MessageLite& message,
                            WriteOptions options) {
  absl::Status hooked = InterceptReply(message);
  if (ABSL_PREDICT_FALSE(!hooked.ok())) {
    EndForHook(std::move(hooked));
    return false;
  }
  const size_t size = message.ByteSizeLong();
  if (size > connection_->max_frame_size()) {
    // Too large to send: the call fails, as a unary reply would.
    (void)EndCall(nullptr, absl::ResourceExhaustedError(absl::StrCat(
                        "reply too large: message of ", size,
                        " bytes exceeds the frame limit of ",
                        connection_->max_frame_size(), " bytes")));
    return false;
  }
  std::vector<Fd> fds;
  if (ABSL_PREDICT_FALSE(context_.fds_.attached() > 0)) {
    absl::Status allowed = TakeReplyFds(&fds);
    if (!allowed.ok()) {
      (void)EndCall(nullptr, std::move(allowed));
      return false;
    }
  }
  MutexLock lock(&mu_);
  auto writable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return send_window_ > 0 || cancelled_ || finished_;
  };
  if (!writable()) {
    SendHintedLocked();  // the client may wait for them to return window
    mu_.Await(writable);
  }
  if (cancelled_ || finished_) return false;
  // Behind the replies that wait, if any: one buffer for all of them.
  std::string out = TakeHintedLocked();
  if (out.empty()) out = connection_->TakeBuffer();
  AppendInitialMetadataLocked(&out);
  const size_t fds_offset = fds.empty() ? 0 : AppendFdsFrame(&out, fds.size());
  (void)AppendMessageFrameOfSize(&out, FrameType::kMessage, 0, stream_id_,
                                 message, size, connection_->max_frame_size());
  send_window_ -= static_cast<int64_t>(size);
  if (options.get_buffer_hint() && fds.empty() &&
      out.size() < kMaxHintedBytes) {
    HoldHintedLocked(std::move(out));
    return true;
  }
  // Sent while holding mu_ so that MESSAGE frames leave in order and never
  // after this call's STATUS.
  if (ABSL_PREDICT_TRUE(fds.empty())) {
    connection_->Send(std::move(out));
  } else {
    connection_->SendWithFds(std::move(out), fds_offset, std::move(fds));
  }
  return true;
}

std::string ServerCallState::TakeHintedLocked() {
  if (ABSL_PREDICT_TRUE(hinted_ == nullptr)) return std::string();
  return std::exchange(*hinted_, std::string());
}

void ServerCallState::HoldHintedLocked(std::string frames) {
  if (hinted_ == nullptr) hinted_ = std::make_unique<std::string>();
  *hinted_ = std::move(frames);
}

void ServerCallState::SendHintedLocked() {
  std::string frames = TakeHintedLocked();
  if (!frames.empty()) connection_->Send(std::move(frames));
}

bool ServerCallState::SendInitialMetadata() {
  MutexLock lock(&mu_);
  if (cancelled_ || finished_) return false;
  std::string out = TakeHintedLocked();
  AppendInitialMetadataLocked(&out);
  if (!out.empty()) connection_->Send(std::move(out));
  return true;
}

// ---- ServerContext's cancellation queries ----

bool ServerContext::IsCancelled() const {
  return call_ != nullptr && call_->IsCancelled();
}

bool ServerContext::WaitForCancellation(absl::Time deadline) const {
  return call_ != nullptr && call_->WaitForCancellation(deadline);
}

ServerUnaryReactor* CallbackServerContext::DefaultReactor() {
  return call_->default_reactor();
}

}  // namespace sockrpc
