// Helpers that run the real Increment demo binaries (increment_server,
// increment_client) for end-to-end tests. Test-only.
//
// Thread-safe: free functions.
#ifndef SOCKRPC_TESTS_TESTING_INCREMENT_SERVER_H_
#define SOCKRPC_TESTS_TESTING_INCREMENT_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {

// StartIncrementServer starts increment_server --listen `listen_address`
// plus `extra_flags`, and returns once it has printed "server waiting".
// If it exits or stays silent instead, the error carries its output.
absl::StatusOr<StartedServer> StartIncrementServer(
    absl::string_view listen_address,
    const std::vector<std::string>& extra_flags = {});

// The ways a server can listen, to parametrize tests over.
enum class Transport { kUnixPath, kUnixAbstract, kTcp };

// For test names: "UnixPath", "UnixAbstract", "Tcp".
std::string TransportName(Transport transport);

// A listen address of `transport` that no other test uses: a socket file in
// `dir`, an abstract name made of the pid and a counter, or 127.0.0.1:0.
std::string UniqueListenAddress(Transport transport, const TempDir& dir);

// A unique abstract socket name (without the leading NUL).
std::string UniqueAbstractName();

// The outcome of one run of increment_client.
using ClientRun = ProgramRun;

// RunIncrementClient runs increment_client with `args` to completion
// (bounded by kProcessTimeout; it is killed past that).
absl::StatusOr<ClientRun> RunIncrementClient(
    const std::vector<std::string>& args);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_INCREMENT_SERVER_H_
