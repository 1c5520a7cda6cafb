#include "tests/interop/interop_service_helpers.h"

#include "absl/strings/str_cat.h"
#include "tests/interop/interop_common.h"

namespace sockrpc {
namespace interop {

void EchoMetadata(ServerContext* context) {
  for (const auto& [key, value] : context->client_metadata()) {
    if (key == kEchoInitialKey) context->AddInitialMetadata(key, value);
    if (key == kEchoTrailingKey) context->AddTrailingMetadata(key, value);
  }
}

absl::Status RequestedStatus(const StatusToEcho& echo) {
  if (echo.code() == 0) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(echo.code()),
                      echo.message());
}

absl::Status AnswerUnary(const UnaryRequest& request, UnaryReply* reply) {
  absl::Status requested = RequestedStatus(request.echo_status());
  if (!requested.ok()) return requested;
  reply->set_body(Pattern(request.reply_size(), 0));
  reply->set_request_size(request.body().size());
  reply->set_request_fingerprint(Fingerprint(request.body()));
  return absl::OkStatus();
}

StreamChunk MakeChunk(uint32_t index, uint32_t size) {
  StreamChunk chunk;
  chunk.set_index(index);
  chunk.set_body(Pattern(size, index));
  return chunk;
}

absl::Status ClientGone(const ServerContext& context) {
  return absl::CancelledError(
      absl::StrCat(context.method(), ": the call ended before the reply"));
}

absl::Duration SleepTime(const SleepRequest& request) {
  return absl::Milliseconds(request.sleep_ms());
}

absl::Duration PauseBeforeEachReply(const DownloadRequest& request) {
  return absl::Microseconds(request.pause_us());
}

}  // namespace interop
}  // namespace sockrpc
