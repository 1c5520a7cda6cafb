// The shared main() of the compatibility tests' servers (compat_server_v1,
// compat_server_v2): flags, signals, start-up and shutdown, with no generated
// code, so that each server links only its own version of the Catalog.
// Test-only.
//
// A server started with --listen ADDRESS prints "listening on ADDRESS" and
// "server waiting", flushing each line, and serves until SIGTERM or SIGINT,
// then shuts down gracefully, prints "server stopped" and exits 0.
#ifndef SOCKRPC_TESTS_COMPAT_SERVE_H_
#define SOCKRPC_TESTS_COMPAT_SERVE_H_

#include "absl/strings/string_view.h"
#include "server/service.h"

namespace compat {

// PrintLine writes `line` and a newline to standard output and flushes, so
// that a test waiting for the line sees it at once. Thread-safe.
void PrintLine(absl::string_view line);

// ServeUntilSignal parses the command line (--listen), serves `service`
// (borrowed; it must outlive the call) until SIGTERM or SIGINT and returns
// main()'s exit status. `program` names the binary in error messages. Call
// it from main() before any other thread starts: it blocks the signals it
// waits for, and every server thread inherits that mask.
int ServeUntilSignal(const char* program, sockrpc::Service* service, int argc,
                     char** argv);

}  // namespace compat

#endif  // SOCKRPC_TESTS_COMPAT_SERVE_H_
