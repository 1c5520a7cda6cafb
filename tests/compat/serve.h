// The shared main() of the compatibility tests' servers (compat_server_v1,
// compat_server_v2): flags, signals, start-up and shutdown, with no generated
// code, so that each server links only its own version of the Catalog.
// Test-only.
//
// A server started with --listen ADDRESS serves as
// tests/testing/serve_until_signal.h says, with the default ServerOptions.
#ifndef SOCKRPC_TESTS_COMPAT_SERVE_H_
#define SOCKRPC_TESTS_COMPAT_SERVE_H_

#include "server/service.h"

namespace compat {

// ServeUntilSignal parses the command line (--listen), serves `service`
// (borrowed; it must outlive the call) until SIGTERM or SIGINT and returns
// main()'s exit status. `program` names the binary in error messages. Call
// it from main() before any other thread starts: it blocks the signals it
// waits for, and every server thread inherits that mask.
int ServeUntilSignal(const char* program, sockrpc::Service* service, int argc,
                     char** argv);

}  // namespace compat

#endif  // SOCKRPC_TESTS_COMPAT_SERVE_H_
