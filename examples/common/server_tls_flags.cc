#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "examples/common/tls_flags.h"

ABSL_FLAG(std::string, tls_cert, "",
          "TLS on TCP listeners: the server's certificate chain (PEM); needs "
          "--tls_key");
ABSL_FLAG(std::string, tls_key, "", "the private key of --tls_cert (PEM)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "ask TLS clients for a certificate these roots vouch for (PEM)");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "with --tls_client_ca: refuse clients without a certificate");
ABSL_FLAG(std::vector<std::string>, tls_allowed_peers, {},
          "with --tls_client_ca: admit only clients whose certificate names "
          "one of these (SPIFFE ID or other URI, DNS name, or common name)");

namespace sockrpc {
namespace examples {

absl::StatusOr<std::optional<TlsServerOptions>> ServerTlsFromFlags() {
  if (absl::GetFlag(FLAGS_tls_cert).empty() &&
      absl::GetFlag(FLAGS_tls_key).empty()) {
    if (!absl::GetFlag(FLAGS_tls_client_ca).empty() ||
        absl::GetFlag(FLAGS_tls_require_client_cert) ||
        !absl::GetFlag(FLAGS_tls_allowed_peers).empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca, --tls_require_client_cert and "
          "--tls_allowed_peers need --tls_cert and --tls_key");
    }
    return std::nullopt;
  }
  TlsServerOptions tls;
  tls.certificate_file = absl::GetFlag(FLAGS_tls_cert);
  tls.private_key_file = absl::GetFlag(FLAGS_tls_key);
  tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  tls.require_client_certificate = absl::GetFlag(FLAGS_tls_require_client_cert);
  tls.allowed_peers = absl::GetFlag(FLAGS_tls_allowed_peers);
  return std::optional<TlsServerOptions>(std::move(tls));
}

}  // namespace examples
}  // namespace sockrpc
