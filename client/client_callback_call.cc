#include "client/client_callback_call.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client_call_state.h"
#include "client/client_connection.h"
#include "client/client_event_loop.h"
#include "client/interceptor_hooks.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace sockrpc::internal {
namespace {

// Reactions one Advance() runs at most before the call yields the loop.
constexpr int kMaxReactionsPerAdvance = 64;

absl::Status ChannelGone() {
  return absl::CancelledError("cancelled: the channel was destroyed");
}

}  // namespace

// ---- ClientReactorBase ----

namespace {

ClientCallbackCall* Bound(ClientCallbackCall* call) {
  if (call == nullptr) {
    // A reactor used before a stub method bound it: a programming error
    // with no call to report it on.
    std::fputs(
        "sockrpc: a client reactor was used before a stub's async() "
        "method bound it to a call\n",
        stderr);
    std::abort();
  }
  return call;
}

}  // namespace

void ClientReactorBase::DoStartCall() { Bound(call_)->Start(); }
void ClientReactorBase::DoStartRead(google::protobuf::MessageLite* message) {
  Bound(call_)->StartRead(message);
}
void ClientReactorBase::DoStartWrite(
    const google::protobuf::MessageLite& message) {
  Bound(call_)->StartWrite(message);
}
void ClientReactorBase::DoStartWritesDone() { Bound(call_)->StartWritesDone(); }
void ClientReactorBase::DoAddHold() { Bound(call_)->AddHold(); }
void ClientReactorBase::DoRemoveHold() { Bound(call_)->RemoveHold(); }

// ---- ClientCallbackCall ----

ClientCallbackCall::ClientCallbackCall(
    Channel* channel, ClientEventLoop* loop, ClientContext* context,
    absl::string_view method, const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* reply, uint32_t max_frame_size,
    ClientReactorBase* reactor, std::function<void(absl::Status)> unary_done,
    absl::Status loop_failure)
    : loop_(loop),
      reactor_(reactor),
      unary_done_(std::move(unary_done)),
      context_(context),
      method_storage_(method.begin(), method.end()),
      method_(method_storage_.data(), method_storage_.size()),
      request_(request),
      reply_(reply),
      max_frame_size_(max_frame_size),
      loop_failure_(std::move(loop_failure)),
      channel_(channel) {}

ClientCallbackCall::ClientCallbackCall(ClientEventLoop* loop,
                                       std::shared_ptr<ClientCallState> stream,
                                       absl::AnyInvocable<void()> on_done)
    : loop_(loop),
      reactor_(nullptr),
      on_done_(std::move(on_done)),
      context_(nullptr),
      request_(nullptr),
      reply_(nullptr),
      max_frame_size_(0),
      channel_(nullptr) {
  MutexLock lock(&mu_);
  started_ = true;
  stream_ = std::move(stream);
}

ClientCallbackCall::~ClientCallbackCall() {
  if (watched_ != nullptr) loop_->Unwatch(watched_, watched_->fd());
}

void ClientCallbackCall::WatchConnection() {
  ClientConnection* connection = stream_->connection();
  if (connection == nullptr) return;
  loop_->Watch(stream_->connection_, connection->fd());
  watched_ = connection;
  // (Also for what the call's opening left held: Open() without waiting
  // does not arm output itself.)
  connection->RearmForLoop();
}

// ---- Operations ----

void ClientCallbackCall::Start() {
  // Started by a reaction: its frames leave with those of the other calls
  // the loop's turn starts, in one write at the end of the turn.
  const bool on_loop = loop_failure_.ok() && loop_->OnLoopThread();
  Channel* channel;
  {
    MutexLock lock(&mu_);
    if (started_) return;  // a second StartCall()
    started_ = true;
    channel = channel_;
    // Seen under mu_, before Abandon() can hide the Channel: it stays
    // alive until OpenCallbackStream() returns. On the loop's thread it
    // does without being counted: a Channel destroyed on another thread
    // waits for that thread to end (ClientEventLoop::Shutdown()), which
    // this reaction holds up, and one a reaction destroyed has abandoned
    // its calls.
    if (channel != nullptr && loop_failure_.ok() && !on_loop) {
      channel->BeginCallbackOpen();
    }
  }
  std::shared_ptr<ClientCallState> stream;
  if (!loop_failure_.ok()) {
    stream = std::make_shared<ClientCallState>(
        nullptr, context_, absl::InfiniteFuture(), loop_failure_);
  } else if (channel == nullptr) {
    stream = std::make_shared<ClientCallState>(
        nullptr, context_, absl::InfiniteFuture(), ChannelGone());
  } else {
    stream = channel->OpenCallbackStream(this, on_loop);
  }
  if (on_loop && stream->connection_ != nullptr) {
    loop_->FlushAfterTurn(stream->connection_);
  }
  // interceptors_ is final now: writes from here on are hooked at once.
  interceptors_known_.store(true, std::memory_order_release);
  if (!loop_failure_.ok()) {
    // No loop to run it: the call (failed at once) ends on this thread, the
    // one exception to "reactions never run inside an operation".
    {
      MutexLock lock(&mu_);
      stream_ = std::move(stream);
    }
    EndHere();
    return;
  }
  MutexLock lock(&mu_);
  stream_ = stream;
  WatchConnection();
  opened_ = true;
  if (abandoned_) stream->Cancel(ChannelGone());
  // Under mu_, like every Schedule() of an operation: once mu_ is released
  // the loop may end the call and delete it.
  if (!WaitsOnlyForItsEnd()) loop_->Schedule(this);
}

bool ClientCallbackCall::WaitsOnlyForItsEnd() {
  // Only a call that reports nothing but its end (a reactor's first
  // reaction may be due at once), open on a connection, with no timer to
  // set (TakeDeadline()): its connection schedules it when it ends.
  ClientConnection* connection = stream_->connection();
  if (reactor_ != nullptr || abandoned_ || connection == nullptr ||
      stream_->deadline() != absl::InfiniteFuture() ||
      !connection->preface_arrived()) {
    return false;
  }
  // Not over already (failed before its connection took it, which
  // schedules nothing).
  return !connection->Peek(*stream_).done;
}

void ClientCallbackCall::StartRead(google::protobuf::MessageLite* message) {
  MutexLock lock(&mu_);
  if (read_ != nullptr) {
    ++refused_reads_;
  } else {
    read_ = message;
  }
  loop_->Schedule(this);
}

void ClientCallbackCall::StartWrite(
    const google::protobuf::MessageLite& message) {
  Write write;
  if (interceptors_known_.load(std::memory_order_acquire)) {
    EncodeWrite(message, &write);
  } else {
    write.unhooked.reset(message.New());
    write.unhooked->CheckTypeAndMergeFrom(message);
  }
  MutexLock lock(&mu_);
  write.after_writes_done = writes_done_asked_;
  writes_.push_back(std::move(write));
  loop_->Schedule(this);
}

void ClientCallbackCall::EncodeWrite(
    const google::protobuf::MessageLite& message, Write* write) {
  if (ABSL_PREDICT_FALSE(context_ != nullptr &&
                         context_->fds_.attached() > 0)) {
    // They go with this message (PROTOCOL.md section 16.3), or close with
    // the write if it cannot be sent.
    write->fds = context_->fds_.TakeAttached();
    AppendFdsFrame(&write->frame, 0, write->fds.size());
    write->message_offset = write->frame.size();
  }
  if (!interceptors_.empty()) {
    // A refused message is not sent: the call is cancelled with the
    // hook's status when its turn comes, as an unencodable one is.
    write->encoded =
        RunRequestHooks(interceptors_, method_, *context_, message);
    if (!write->encoded.ok()) return;
  }
  write->encoded = AppendMessageFrame(&write->frame, FrameType::kMessage, 0,
                                      0, message, max_frame_size_);
  if (!write->encoded.ok()) {
    write->encoded = absl::ResourceExhaustedError(
        absl::StrCat("request not sent: ", write->encoded.message()));
  }
}

void ClientCallbackCall::StartWritesDone() {
  MutexLock lock(&mu_);
  if (writes_done_asked_) return;
  writes_done_asked_ = true;
  loop_->Schedule(this);
}

void ClientCallbackCall::AddHold() {
  MutexLock lock(&mu_);
  ++holds_;
}

void ClientCallbackCall::RemoveHold() {
  MutexLock lock(&mu_);
  --holds_;
  loop_->Schedule(this);
}

void ClientCallbackCall::Attach() {
  MutexLock lock(&mu_);
  ClientConnection* connection = stream_->connection();
  if (connection != nullptr) connection->AttachCallback(*stream_, this);
  WatchConnection();
  opened_ = true;
  loop_->Schedule(this);
}

void ClientCallbackCall::EndHere() {
  {
    MutexLock lock(&mu_);
    opened_ = true;
  }
  while (!Advance()) {
  }
  delete this;
}

// ---- The loop thread ----

bool ClientCallbackCall::Advance() {
  for (int reactions = 0;; ++reactions) {
    if (reactions == kMaxReactionsPerAdvance) {
      // A call that always has more to do (a reader whose messages keep
      // coming) lets the loop's other work go first: it runs again on the
      // next turn. (A call no loop took is advanced again by EndHere().)
      loop_->Schedule(this);
      return false;
    }
    Reaction reaction = Next();
    switch (reaction.kind) {
      case Reaction::Kind::kNone:
        return false;
      case Reaction::Kind::kInitialMetadata:
        reactor_->OnReadInitialMetadataDone(reaction.ok);
        break;
      case Reaction::Kind::kWrite:
        reactor_->OnWriteDone(reaction.ok);
        break;
      case Reaction::Kind::kWritesDone:
        reactor_->OnWritesDoneDone(reaction.ok);
        break;
      case Reaction::Kind::kRead:
        if (reaction.ok && !interceptors_.empty()) {
          reaction.ok = InterceptRead(*reaction.message);
        }
        reactor_->OnReadDone(reaction.ok);
        break;
      case Reaction::Kind::kDone:
        if (reactor_ != nullptr) {
          EndInterceptors(&reaction.status);
          reactor_->OnDone(reaction.status);
        } else if (unary_done_) {
          EndInterceptors(&reaction.status);
          unary_done_(std::move(reaction.status));
        } else {
          on_done_();
        }
        return true;
    }
  }
}

ClientCallbackCall::Reaction ClientCallbackCall::Next() {
  using Kind = Reaction::Kind;
  MutexLock lock(&mu_);
  Reaction reaction;
  if (!opened_) return reaction;
  ClientCallState& stream = *stream_;
  ClientConnection* connection = stream.connection();
  ClientConnection::StreamView view;
  if (connection != nullptr) {
    view = connection->Peek(stream);
    if (ABSL_PREDICT_FALSE(view.opening)) {
      // Its request carries descriptors and waits, unsent, for the server
      // to say whether it takes them; nothing else is due meanwhile.
      connection->ResumeOpen(stream_);
      view = connection->Peek(stream);
      if (view.opening) return reaction;
    }
  } else {  // failed before it started: immutable
    view.done = true;
    view.status = stream.status_;
  }
  if (reactor_ == nullptr) {  // only its end matters
    if (view.done) {
      reaction.kind = Kind::kDone;
      reaction.status = FinalStatus(view.status, view.got_reply);
    }
    return reaction;
  }
  if (!metadata_reported_ && (view.got_metadata || view.done)) {
    metadata_reported_ = true;
    reaction.kind = Kind::kInitialMetadata;
    reaction.ok = view.got_metadata;
    return reaction;
  }
  // Writes, in order; the first that finds no window waits for one.
  if (!writes_.empty()) {
    Write& write = writes_.front();
    if (write.unhooked != nullptr) {
      std::unique_ptr<google::protobuf::MessageLite> message =
          std::move(write.unhooked);
      EncodeWrite(*message, &write);
    }
    ClientConnection::WriteOutcome outcome =
        ClientConnection::WriteOutcome::kEnded;
    if (write.after_writes_done) {
      // Refused: OnWriteDone(false), the call goes on.
    } else if (!write.encoded.ok()) {
      FailLocked(write.encoded);
    } else if (connection == nullptr) {
      // Failed before it started: the write fails.
    } else if (ABSL_PREDICT_TRUE(write.fds.empty())) {
      outcome = connection->WriteNoWait(stream, &write.frame);
    } else {
      outcome = connection->WriteWithFdsNoWait(
          stream, &write.frame, write.message_offset, &write.fds);
    }
    // Without a window, or while the server has not said whether it takes
    // descriptors, the write waits: the connection schedules the call
    // again when that changes.
    if (outcome != ClientConnection::WriteOutcome::kNoWindow &&
        outcome != ClientConnection::WriteOutcome::kAwaitingSettings) {
      writes_.erase(writes_.begin());
      reaction.kind = Kind::kWrite;
      reaction.ok = outcome == ClientConnection::WriteOutcome::kSent;
      return reaction;
    }
  }
  if (writes_done_asked_ && !writes_done_reported_ && writes_.empty()) {
    writes_done_reported_ = true;
    reaction.kind = Kind::kWritesDone;
    reaction.ok = connection != nullptr && connection->WritesDoneNoWait(stream);
    return reaction;
  }
  // After OnReadInitialMetadataDone(), as every OnReadDone().
  if (refused_reads_ > 0 && metadata_reported_) {
    --refused_reads_;
    reaction.kind = Kind::kRead;
    return reaction;
  }
  if (read_ != nullptr) {
    std::string payload;
    std::vector<Fd> fds;
    bool ended = true;
    if (connection != nullptr &&
        connection->TakeMessage(stream, &payload, &fds, &ended)) {
      google::protobuf::MessageLite* target = read_;
      read_ = nullptr;
      reaction.kind = Kind::kRead;
      reaction.ok = target->ParseFromString(payload);
      reaction.message = target;
      if (!reaction.ok) {
        CancelStream(absl::InternalError(absl::StrCat(
            "failed to parse a reply (", target->GetTypeName(), ")")));
        return reaction;
      }
      absl::Status matched =
          ClientConnection::AcceptReplyFds(stream, *target, std::move(fds));
      if (ABSL_PREDICT_FALSE(!matched.ok())) {
        reaction.ok = false;
        CancelStream(matched);
      }
      return reaction;
    }
    if (ended) {
      read_ = nullptr;
      reaction.kind = Kind::kRead;
      return reaction;
    }
  }
  if (view.done && writes_.empty() &&
      writes_done_asked_ == writes_done_reported_ && read_ == nullptr &&
      holds_ == 0) {
    reaction.kind = Kind::kDone;
    reaction.status = FinalStatus(view.status, view.got_reply);
  }
  return reaction;
}

void ClientCallbackCall::FailLocked(const absl::Status& why) {
  if (failure_.ok()) failure_ = why;
  CancelStream(why);
}

absl::Status ClientCallbackCall::FinalStatus(const absl::Status& stream_status,
                                             bool got_reply) {
  if (!failure_.ok()) return failure_;
  if (!stream_status.ok() || reply_ == nullptr || got_reply) {
    return stream_status;
  }
  return absl::InternalError(request_ != nullptr
                                 ? "server ended a unary call without a reply"
                                 : "server ended the call without a reply");
}

bool ClientCallbackCall::InterceptRead(google::protobuf::MessageLite& message) {
  absl::Status hooked =
      RunReplyHooks(interceptors_, method_, *context_, message);
  if (hooked.ok()) return true;
  MutexLock lock(&mu_);
  FailLocked(hooked);
  return false;
}

void ClientCallbackCall::EndInterceptors(absl::Status* status) {
  if (interceptors_.empty()) return;
  if (status->ok() && reply_ != nullptr) {
    *status = RunReplyHooks(interceptors_, method_, *context_, *reply_);
  }
  RunStatusHooks(interceptors_, method_, *context_, *status);
  const absl::Duration elapsed = absl::Now() - start_time_;
  for (size_t i = interceptors_.size(); i-- > 0;) {
    interceptors_[i]->OnCallEnd(method_, *context_, *status, elapsed);
  }
}

void ClientCallbackCall::CancelStream(const absl::Status& why) {
  ClientConnection* connection = stream_->connection();
  if (connection != nullptr) connection->Cancel(*stream_, why);
}

void ClientCallbackCall::Abandon() {
  std::shared_ptr<ClientCallState> stream;
  {
    MutexLock lock(&mu_);
    abandoned_ = true;
    channel_ = nullptr;
    if (!started_) {
      // Never started: it ends without being sent, as if it had failed to.
      started_ = true;
      opened_ = true;
      stream_ = std::make_shared<ClientCallState>(
          nullptr, context_, absl::InfiniteFuture(), ChannelGone());
    } else if (opened_ || reactor_ == nullptr) {
      stream = stream_;  // (a future's stream is set from the start)
    }
    // Started but not open yet: Start() cancels it when it is.
  }
  if (stream != nullptr) stream->Cancel(ChannelGone());
  loop_->Schedule(this);
}

bool ClientCallbackCall::TakeDeadline(absl::Time* deadline) {
  if (deadline_taken_) return false;
  MutexLock lock(&mu_);
  if (!opened_) return false;
  deadline_taken_ = true;
  if (stream_->connection() == nullptr) return false;
  // Until the server's preface is in, the call also waits for that.
  *deadline =
      std::min(stream_->deadline(), stream_->connection()->PrefaceDeadline());
  return *deadline != absl::InfiniteFuture();
}

void ClientCallbackCall::Expire() {
  std::shared_ptr<ClientCallState> stream;
  {
    MutexLock lock(&mu_);
    stream = stream_;
  }
  ClientConnection* connection = stream->connection();
  if (connection == nullptr) return;
  // The timer may be the preface's: fail the connection if the preface is
  // late; if it came meanwhile, set the call's own timer afresh.
  if (connection->FailIfPrefaceLate()) return;
  if (absl::Now() < stream->deadline()) {
    deadline_taken_ = false;
    loop_->Schedule(this);
    return;
  }
  connection->Expire(*stream);
}

}  // namespace sockrpc::internal
