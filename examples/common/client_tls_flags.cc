#include <string>

#include "absl/flags/flag.h"
#include "examples/common/tls_flags.h"

ABSL_FLAG(bool, tls, false,
          "speak TLS to a TCP server, checking its certificate against the "
          "system's trust roots");
ABSL_FLAG(std::string, cacert, "",
          "speak TLS, trusting the roots in this file (PEM)");
ABSL_FLAG(std::string, cert, "",
          "speak TLS with this client certificate (PEM; with --key)");
ABSL_FLAG(std::string, key, "", "the private key of --cert (PEM)");
ABSL_FLAG(std::string, server_name, "",
          "speak TLS, expecting this name in the server's certificate "
          "(default: the target's host)");
ABSL_FLAG(bool, insecure, false,
          "speak TLS but believe any server certificate (tests only)");

namespace sockrpc {
namespace examples {

std::optional<TlsChannelOptions> ClientTlsFromFlags() {
  if (!absl::GetFlag(FLAGS_tls) && absl::GetFlag(FLAGS_cacert).empty() &&
      absl::GetFlag(FLAGS_cert).empty() &&
      absl::GetFlag(FLAGS_server_name).empty() &&
      !absl::GetFlag(FLAGS_insecure)) {
    return std::nullopt;
  }
  TlsChannelOptions tls;
  tls.ca_file = absl::GetFlag(FLAGS_cacert);
  tls.certificate_file = absl::GetFlag(FLAGS_cert);
  tls.private_key_file = absl::GetFlag(FLAGS_key);
  tls.server_name = absl::GetFlag(FLAGS_server_name);
  tls.insecure_skip_verify = absl::GetFlag(FLAGS_insecure);
  return tls;
}

}  // namespace examples
}  // namespace sockrpc
