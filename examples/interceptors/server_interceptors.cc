#include "examples/interceptors/server_interceptors.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace examples {

namespace {

// How a TLS client named itself: " [tls: ID]", its SPIFFE ID, else its
// first DNS name, else its subject's common name; "" without TLS.
std::string TlsIdentity(const ServerContext& context) {
  const TlsPeer* peer = context.tls_peer();
  if (peer == nullptr) return "";
  std::string id = !peer->spiffe_id.empty()     ? peer->spiffe_id
                   : !peer->dns_names.empty()   ? peer->dns_names[0]
                   : !peer->common_name.empty() ? peer->common_name
                                                : std::string("no certificate");
  return absl::StrCat(" [tls: ", id, "]");
}

}  // namespace

void CallLogger::OnCallEnd(const ServerContext& context,
                           const absl::Status& status, absl::Duration elapsed) {
  write_(absl::StrCat("call ", context.method(), " from ", context.peer(),
                      TlsIdentity(context), ": ",
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

void ErrorRedactor::OnStatus(ServerContext& context, absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      break;
    default:
      return;  // the client's own mistakes and the server's limits stay
  }
  const uint64_t reference =
      next_reference_.fetch_add(1, std::memory_order_relaxed);
  write_(absl::StrCat("error ref ", reference, ": ", context.method(),
                      " from ", context.peer(), ": ", status.ToString()));
  context.AddTrailingMetadata("error-ref", absl::StrCat(reference));
  status = absl::Status(status.code(),
                        absl::StrCat("internal error (ref ", reference, ")"));
}

}  // namespace examples
}  // namespace sockrpc
