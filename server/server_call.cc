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
namespace {

// Bytes to reserve for a call's last frames beyond its reply's encoding:
// the frame headers and a short STATUS.
constexpr size_t kFinalFramesSize = 3 * kFrameHeaderSize + 64;

}  // namespace

absl::string_view ServerCall::request() const {
  if (request_buffer.empty()) {
    return absl::string_view(state->small_request(), request_size);
  }
  return absl::string_view(request_buffer.data() + request_offset,
                           request_size);
}

void ServerCall::Run() {
  state->Run(request());
  if (!request_buffer.empty()) {
    state->connection().GiveBuffer(std::move(request_buffer));
  }
}

bool ServerCall::RunWithoutBlocking() {
  if (reactions) {
    state->RunReactions();
    return true;
  }
  if (!state->is_callback()) return false;
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
                                 Metadata client_metadata, absl::Time deadline,
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
  context_.client_metadata_ = std::move(client_metadata);
  context_.peer_ = &connection_->peer();
  context_.peer_credentials_ = connection_->peer_credentials();
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

absl::Status ServerCallState::TakeReplyFds(std::vector<Fd>* fds) {
  *fds = context_.fds_.TakeAttached();
  if (ABSL_PREDICT_TRUE(fds->empty())) return absl::OkStatus();
  const uint32_t accepted = connection_->client_max_fds();
  if (accepted == 0) {
    fds->clear();
    return absl::FailedPreconditionError(
        absl::StrCat("reply not sent: the client (", context_.peer(),
                     ") accepts no file descriptors",
                     context_.peer_credentials().has_value()
                         ? " (it announced none in its SETTINGS)"
                         : " (they pass only over unix sockets)"));
  }
  if (fds->size() > accepted) {
    const size_t count = fds->size();
    fds->clear();
    return absl::FailedPreconditionError(
        absl::StrCat("reply not sent: ", count,
                     " file descriptors in one message, but the client "
                     "accepts at most ",
                     accepted));
  }
  return absl::OkStatus();
}

size_t ServerCallState::AppendFdsFrame(std::string* out, size_t count) const {
  const size_t offset = out->size();
  sockrpc::AppendFdsFrame(out, stream_id_, count);
  return offset;
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
  absl::Status status = is_callback() || !connection_->has_interceptors()
                            ? absl::OkStatus()
                            : StartInterceptors();
  if (status.ok()) {
    status = RunHandler(request);
  } else {
    status = EndCall(nullptr, status);
  }
  EndInterceptors(status);
}

absl::Status ServerCallState::RunHandler(absl::string_view request) {
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

void ServerCallState::SettleLocked(
    const google::protobuf::MessageLite** unary_reply, absl::Status* status) {
  if (!forced_status_.has_value()) return;
  // Cancel() fixed the outcome (a deadline, a shutdown): the handler's
  // own, if it got here first, does not count.
  *status = *forced_status_;
  *unary_reply = nullptr;
}

absl::Status ServerCallState::EndCall(
    const google::protobuf::MessageLite* unary_reply, absl::Status status) {
  // With interceptors, a call that ends with its handler's outcome (not a
  // status Cancel() forced) is settled first under mu_ (finished_: nothing
  // else ends it meanwhile; a Cancel() returns at once), then the hooks
  // run without the lock. Only the handler's own flow gets here that way
  // (its return, its reactor's Finish()), so OnDone() cannot run meanwhile.
  bool settled = false;
  if (ABSL_PREDICT_FALSE(interceptors_started() > 0)) {
    {
      MutexLock lock(&mu_);
      if (finished_) return cancel_reason_;
      if (!forced_status_.has_value()) {
        finished_ = true;
        settled = true;
      }
    }
    if (settled) {
      // The metadata check first, so that the hooks see that outcome.
      const absl::Status metadata_ok = ResponseMetadataStatus();
      if (status.ok() && !metadata_ok.ok()) {
        status = absl::InternalError(absl::StrCat(
            "handler set invalid metadata: ", metadata_ok.message()));
      }
      RunEndHooks(&unary_reply, &status);
    }
  }
  std::string out = connection_->TakeBuffer();
  const uint32_t max_frame_size = connection_->max_frame_size();
  std::vector<Fd> reply_fds;
  size_t fds_offset = 0;
  {
    MutexLock lock(&mu_);
    if (!settled) {
      if (finished_) return cancel_reason_;
      finished_ = true;
      SettleLocked(&unary_reply, &status);
    }
    if (ABSL_PREDICT_FALSE(hinted_ != nullptr) && !cancelled_) {
      // Replies written with the buffer hint leave with the STATUS, in the
      // same write.
      std::string frames = TakeHintedLocked();
      if (!frames.empty()) {
        std::swap(out, frames);
        connection_->GiveBuffer(std::move(frames));
      }
    }
    const absl::Status metadata_ok = ResponseMetadataStatus();
    if (status.ok() && !metadata_ok.ok()) {
      status = absl::InternalError(absl::StrCat(
          "handler set invalid metadata: ", metadata_ok.message()));
    }
    if (ABSL_PREDICT_FALSE(unary_reply != nullptr && status.ok() &&
                           context_.fds_.attached() > 0)) {
      status = TakeReplyFds(&reply_fds);
    }
    if (!status.ok()) unary_reply = nullptr;
    const size_t reply_size =
        unary_reply != nullptr ? unary_reply->ByteSizeLong() : 0;
    // Room for every frame at once: [HEADERS] [MESSAGE] STATUS.
    out.reserve(out.size() + kFinalFramesSize + reply_size);
    AppendInitialMetadataLocked(&out);
    if (!reply_fds.empty() && unary_reply != nullptr) {
      fds_offset = AppendFdsFrame(&out, reply_fds.size());
    }
    if (unary_reply != nullptr) {
      const size_t before = out.size();
      absl::Status fits =
          AppendMessageFrameOfSize(&out, FrameType::kMessage, 0, stream_id_,
                                   *unary_reply, reply_size, max_frame_size);
      if (!fits.ok()) {
        out.resize(reply_fds.empty() ? before : fds_offset);
        reply_fds.clear();
        status = absl::ResourceExhaustedError(
            absl::StrCat("reply too large: ", fits.message()));
      }
    }
    static const Metadata kNoTrailers;
    status = AppendStatusFrame(
        &out, stream_id_, status,
        metadata_ok.ok() ? context_.trailing_metadata() : kNoTrailers,
        max_frame_size);
    cancel_reason_ = status;  // what any later EndCall() reports
    // (Status::code() is out of line in Debian's Abseil: asked only with
    // stats on, and not for OK.)
    if (ABSL_PREDICT_FALSE(stats_ != nullptr)) {
      CountEndLocked(status.ok() ? absl::StatusCode::kOk : status.code());
    }
  }
  if (ABSL_PREDICT_TRUE(reply_fds.empty())) {
    connection_->FinishCall(stream_id_, std::move(out));
  } else {
    connection_->FinishCallWithFds(stream_id_, std::move(out), fds_offset,
                                   std::move(reply_fds));
  }
  return status;
}

void ServerCallState::CountEnd(absl::StatusCode code) {
  end_counted_ = true;
  stats_->CallEnded(code, stats_start_);
}

size_t ServerCallState::max_metadata_size() const {
  return connection_->max_metadata_size();
}

absl::Status ServerCallState::ResponseMetadataStatus() const {
  if (context_.initial_metadata().empty() &&
      context_.trailing_metadata().empty()) {
    return absl::OkStatus();  // most calls: nothing to check
  }
  absl::Status status =
      ValidateMetadata(context_.initial_metadata(), max_metadata_size());
  if (status.ok()) {
    status = ValidateMetadata(
        context_.trailing_metadata(),
        max_metadata_size() - MetadataSize(context_.initial_metadata()));
  }
  return status;
}

void ServerCallState::AppendInitialMetadataLocked(std::string* out) {
  if (initial_metadata_sent_) return;
  initial_metadata_sent_ = true;
  if (context_.initial_metadata().empty() ||
      !ValidateMetadata(context_.initial_metadata(), max_metadata_size())
           .ok()) {
    return;
  }
  wire::ResponseHeader header;
  MetadataToWire(context_.initial_metadata(), header.mutable_metadata());
  (void)AppendMessageFrame(out, FrameType::kHeaders, 0, stream_id_, header,
                           connection_->max_frame_size());
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
