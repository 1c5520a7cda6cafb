#include "client/client_call.h"

#include <mutex>
#include <utility>

#include "client/client_call_state.h"
#include "client/client_callback_call.h"
#include "client/client_connection.h"
#include "client/interceptor_hooks.h"
#include "client/client_context.h"
#include "client/client_event_loop.h"

namespace sockrpc {

ClientCall::ClientCall(std::shared_ptr<ClientCallState> stream,
                       std::unique_ptr<ClientContext> owned_context,
                       std::string method,
                       std::vector<ClientInterceptor*> interceptors,
                       absl::Time start, std::shared_ptr<ClientEventLoop> loop)
    : stream_(std::move(stream)),
      loop_(std::move(loop)),
      owned_context_(std::move(owned_context)),
      method_(std::move(method)),
      interceptors_(std::move(interceptors)),
      start_(start) {}

ClientCall::~ClientCall() {
  if (!finished_) {
    Cancel();
    (void)Finish();
  }
}

ClientConnection* ClientCall::LiveConnection() const {
  ClientConnection* connection = stream_->connection();
  return connection != nullptr && connection->forked_away() ? nullptr
                                                            : connection;
}

bool ClientCall::Write(const google::protobuf::MessageLite& message) {
  ClientConnection* connection = LiveConnection();
  if (connection == nullptr) return false;
  if (!interceptors_.empty()) {
    absl::Status hooked = internal::RunRequestHooks(
        interceptors_, method_, *stream_->context(), message);
    if (!hooked.ok()) {
      FailForHook(std::move(hooked));
      return false;
    }
  }
  return connection->Write(*stream_, message);
}

bool ClientCall::WritesDone() {
  ClientConnection* connection = LiveConnection();
  return connection != nullptr && connection->WritesDone(*stream_);
}

bool ClientCall::Read(google::protobuf::MessageLite* message) {
  ClientConnection* connection = LiveConnection();
  if (connection == nullptr || !connection->Read(*stream_, message)) {
    return false;
  }
  if (!interceptors_.empty()) {
    absl::Status hooked = internal::RunReplyHooks(
        interceptors_, method_, *stream_->context(), *message);
    if (!hooked.ok()) {
      FailForHook(std::move(hooked));
      return false;
    }
  }
  return true;
}

void ClientCall::TakeUnaryReply(
    std::unique_ptr<google::protobuf::MessageLite> reply) {
  unary_reply_ = std::move(reply);
  ClientConnection* connection = LiveConnection();
  reply_parsed_in_place_ =
      connection != nullptr &&
      connection->ParseUnaryReplyInto(*stream_, unary_reply_.get());
}

absl::Status ClientCall::FinishUnary(google::protobuf::MessageLite** reply) {
  bool got_reply;
  if (reply_parsed_in_place_) {
    // The call's end first: only then is the reply whole, and got_reply_
    // no longer changes (the wait, under the connection's mutex, ordered
    // its write before this read).
    if (interceptors_.empty()) {
      (void)Finish();
    } else {
      (void)WaitUntilDone(absl::InfiniteFuture());
    }
    got_reply = stream_->got_reply_;
    if (got_reply && !interceptors_.empty()) {
      absl::Status hooked = internal::RunReplyHooks(
          interceptors_, method_, *stream_->context(), *unary_reply_);
      if (!hooked.ok()) {
        FailForHook(std::move(hooked));
        got_reply = false;
      }
    }
  } else {
    got_reply = Read(unary_reply_.get());
  }
  absl::Status status = Finish();
  if (!status.ok()) return status;
  if (!got_reply) {
    return absl::InternalError("server ended a unary call without a reply");
  }
  *reply = unary_reply_.get();
  return absl::OkStatus();
}

void ClientCall::FailForHook(absl::Status status) {
  if (hook_failure_.ok()) hook_failure_ = status;
  stream_->Cancel(status);
}

bool ClientCall::WaitUntilDone(absl::Time deadline) {
  ClientConnection* connection = LiveConnection();
  return connection == nullptr || connection->WaitUntilDone(*stream_, deadline);
}

absl::Status ClientCall::Finish() {
  if (finished_) return final_status_;
  ClientConnection* connection = LiveConnection();
  absl::Status status;
  if (connection != nullptr) {
    status = connection->Finish(*stream_);
  } else if (stream_->connection() != nullptr) {  // forked away
    status = absl::FailedPreconditionError(
        "this call was started before fork() and is used in the child; the "
        "child must start its own calls");
  } else {
    status = stream_->status_;
  }
  if (!hook_failure_.ok()) status = hook_failure_;
  finished_ = true;
  if (!interceptors_.empty()) {
    ClientContext* context = stream_->context();
    internal::RunStatusHooks(interceptors_, method_, *context, status);
    const absl::Duration elapsed = absl::Now() - start_;
    for (size_t i = interceptors_.size(); i-- > 0;) {
      interceptors_[i]->OnCallEnd(method_, *context, status, elapsed);
    }
  }
  final_status_ = status;
  return status;
}

void ClientCall::Cancel() {
  stream_->Cancel(absl::CancelledError("cancelled by the client"));
}

void ClientCall::WhenDone(
    std::unique_ptr<ClientCall> call,
    absl::AnyInvocable<void(std::unique_ptr<ClientCall>)> done) {
  std::shared_ptr<ClientCallState> stream = call->stream_;
  ClientEventLoop* loop = call->loop_.get();
  if (!loop->Start().ok()) {
    // The channel is being destroyed (or the loop cannot run): end the
    // call here.
    call->Cancel();
    done(std::move(call));
    return;
  }
  auto watcher = std::make_unique<internal::ClientCallbackCall>(
      loop, stream, [call = std::move(call), done = std::move(done)]() mutable {
        done(std::move(call));
      });
  internal::ClientCallbackCall* raw = watcher.get();
  watcher = loop->Adopt(std::move(watcher));
  if (watcher != nullptr) {  // refused: the loop has ended
    stream->Cancel(absl::CancelledError("cancelled by the client"));
    watcher.release()->EndHere();  // runs `done`: the call is over
    return;
  }
  // Adopted, and not advanced until attached.
  raw->Attach();
}

void ClientContext::TryCancel() {
  std::shared_ptr<ClientCallState> stream;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    cancelled_ = true;
    stream = stream_.lock();
  }
  if (stream != nullptr) {
    stream->Cancel(absl::CancelledError("cancelled by the client"));
  }
}

}  // namespace sockrpc
