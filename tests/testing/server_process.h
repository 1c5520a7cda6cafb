// Starting a sockrpc server program (increment_server, interop_server, the
// compat servers, ...) as a child process and waiting until it serves.
// Test-only.
//
// Every server program of this repository prints "listening on ADDRESS"
// (the bound address, with the real port for TCP port 0) and then "server
// waiting" once it accepts calls; these helpers wait for both lines.
#ifndef SOCKRPC_TESTS_TESTING_SERVER_PROCESS_H_
#define SOCKRPC_TESTS_TESTING_SERVER_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace sockrpc {
namespace testing {

// How long a test waits for a server to come up or go down, or a client to
// finish. Generous: it bounds a wait that normally takes milliseconds, and
// is reached only when something is broken.
inline constexpr absl::Duration kProcessTimeout = absl::Seconds(10);

// BinaryPath returns the full path of a program of this build: one of the
// test suite's own (interop_server, compat_server_v1, ...; in
// SOCKRPC_TEST_BIN_DIR, build/tests/bin) if there is one by that name, else
// a user-facing one (SOCKRPC_BIN_DIR, build/bin), e.g.
// BinaryPath("increment_server").
std::string BinaryPath(absl::string_view name);

// ServerFlags returns `flags` plus the flags the test run adds for the
// server binary `name`: for "interop_server", the words of the environment
// variable SOCKRPC_TEST_INTEROP_SERVER_FLAGS (the CMake files set it to
// "--blocking" to run a test binary's interop_server tests a second time,
// against the blocking API).
std::vector<std::string> ServerFlags(absl::string_view name,
                                     std::vector<std::string> flags);

// A server program that has started serving.
struct StartedServer {
  std::unique_ptr<ChildProcess> process;
  // The bound address from its "listening on ADDRESS" line.
  std::string address;
};

// AwaitServing waits (kProcessTimeout per line) until `process` has printed
// "listening on ADDRESS" and "server waiting". If it exits or stays silent
// instead, the error carries its output.
absl::StatusOr<StartedServer> AwaitServing(
    std::unique_ptr<ChildProcess> process);

// StartServerProcess starts the server program `name` (see BinaryPath())
// with `args` plus ServerFlags(name) and awaits it.
absl::StatusOr<StartedServer> StartServerProcess(
    absl::string_view name, const std::vector<std::string>& args);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_SERVER_PROCESS_H_
