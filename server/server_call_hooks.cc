// ServerCallState's interceptor hooks (server/interceptor.h): OnCallStart
// and OnCallEnd around the call, OnRequest and OnReply on its messages,
// OnStatus at its end. See server/server_call.h.
#include "absl/time/clock.h"
#include "server/interceptor.h"
#include "server/server_call.h"
#include "server/server_connection.h"

namespace sockrpc {

absl::Status ServerCallState::StartInterceptors() {
  const auto& interceptors = connection_->interceptors();
  if (interceptors.empty()) return absl::OkStatus();
  start_time_ = absl::Now();
  absl::Status status;
  size_t started = 0;
  while (started < interceptors.size() && status.ok()) {
    status = interceptors[started++]->OnCallStart(context_);
  }
  interceptors_started_.store(started, std::memory_order_relaxed);
  return status;
}

void ServerCallState::EndStartedInterceptors(const absl::Status& status) {
  const size_t started = interceptors_started();
  const auto& interceptors = connection_->interceptors();
  const absl::Duration elapsed = absl::Now() - start_time_;
  for (size_t i = started; i-- > 0;) {
    interceptors[i]->OnCallEnd(context_, status, elapsed);
  }
}

absl::Status ServerCallState::RunRequestHooks(
    google::protobuf::MessageLite& request) {
  const auto& interceptors = connection_->interceptors();
  absl::Status status;
  for (size_t i = 0; i < interceptors_started() && status.ok(); ++i) {
    status = interceptors[i]->OnRequest(context_, request);
  }
  return status;
}

absl::Status ServerCallState::RunReplyHooks(
    const google::protobuf::MessageLite& reply) {
  const auto& interceptors = connection_->interceptors();
  absl::Status status;
  for (size_t i = 0; i < interceptors_started() && status.ok(); ++i) {
    status = interceptors[i]->OnReply(context_, reply);
  }
  return status;
}

void ServerCallState::RunEndHooks(
    const google::protobuf::MessageLite** unary_reply, absl::Status* status) {
  if (*unary_reply != nullptr && status->ok()) {
    *status = RunReplyHooks(**unary_reply);
  }
  const auto& interceptors = connection_->interceptors();
  for (size_t i = interceptors_started(); i-- > 0;) {
    interceptors[i]->OnStatus(context_, *status);
  }
  if (!status->ok()) *unary_reply = nullptr;
}

void ServerCallState::EndForHook(absl::Status status) {
  // As a deadline would: what the handler or reactor waits for fails.
  Cancel(std::move(status), /*send_status=*/true);
}

}  // namespace sockrpc
