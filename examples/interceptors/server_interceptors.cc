#include "examples/interceptors/server_interceptors.h"

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace examples {

void CallLogger::OnCallEnd(const ServerContext& context,
                           const absl::Status& status, absl::Duration elapsed) {
  write_(absl::StrCat("call ", context.method(), " from ", context.peer(), ": ",
                      status.ok() ? "OK" : status.ToString(), " in ",
                      absl::FormatDuration(elapsed)));
}

absl::Status TokenAuthenticator::OnCallStart(ServerContext& context) {
  for (const auto& [key, value] : context.client_metadata()) {
    if (key == "authorization" && value == expected_) return absl::OkStatus();
  }
  return absl::UnauthenticatedError(
      "missing or wrong \"authorization: Bearer <token>\" metadata");
}

}  // namespace examples
}  // namespace sockrpc
