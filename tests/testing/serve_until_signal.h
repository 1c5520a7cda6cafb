// ServeUntilSignal: the life of the test suite's server programs
// (interop_server, compat_server_v1/v2) from start-up to exit, so that
// each prints the same lines the tests wait for (tests/testing/
// server_process.h). Test-only. (The Increment demo's server spells its
// own out, as an example should.)
//
// A server prints "listening on ADDRESS" and "server waiting", flushing
// each line, serves until SIGINT, SIGTERM or SIGHUP, prints "server
// shutting down (SIGTERM)", shuts down gracefully, prints "server stopped"
// and exits 0.
#ifndef SOCKRPC_TESTS_TESTING_SERVE_UNTIL_SIGNAL_H_
#define SOCKRPC_TESTS_TESTING_SERVE_UNTIL_SIGNAL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/server.h"
#include "server/service.h"
#include "server/termination_signals.h"

namespace sockrpc {
namespace testing {

// PrintLine writes `line` and a newline to standard error, a server's log
// (unbuffered, so that a test waiting for the line sees it at once).
// Thread-safe.
void PrintLine(absl::string_view line);

// ServeUntilSignal serves `services` (borrowed: they must outlive the
// call) with `options` on `listen` until one of `signals` arrives, then
// shuts down with `grace`, and returns main()'s exit status (1 if the
// server cannot start, with the reason on stderr after `program`).
// `signals` must have been made before any thread started, so that every
// server thread inherits its mask.
int ServeUntilSignal(const char* program, const std::vector<Service*>& services,
                     ServerOptions options, const std::string& listen,
                     absl::Duration grace, TerminationSignals& signals);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_SERVE_UNTIL_SIGNAL_H_
