// TLS from the command line: the flags a server program (server_tls_flags)
// or a client program (client_tls_flags) links in, and the options they
// make. Two libraries, so that each program's --help lists its own side's
// flags only.
//
// Server: --tls_cert FILE --tls_key FILE [--tls_client_ca FILE]
//         [--tls_require_client_cert] [--tls_allowed_peers ID,...]
// Client: --tls | --cacert FILE [--cert FILE --key FILE]
//         [--server_name NAME] [--insecure]
//
// Code to copy: nothing here is part of the sockrpc libraries.
#ifndef SOCKRPC_EXAMPLES_COMMON_TLS_FLAGS_H_
#define SOCKRPC_EXAMPLES_COMMON_TLS_FLAGS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "sockrpc/transport/tls_options.h"

namespace sockrpc {
namespace examples {

// The server's TLS as its flags ask (none without --tls_cert/--tls_key);
// INVALID_ARGUMENT for client-certificate flags without a certificate of
// its own (which would serve in plaintext, checking nobody).
absl::StatusOr<std::optional<TlsServerOptions>> ServerTlsFromFlags();

// The client's TLS as its flags ask (none unless one of them is given).
std::optional<TlsChannelOptions> ClientTlsFromFlags();

}  // namespace examples
}  // namespace sockrpc

#endif  // SOCKRPC_EXAMPLES_COMMON_TLS_FLAGS_H_
