// Helpers of the compatibility tests: start and stop one of the Catalog
// servers (compat_server_v1, compat_server_v2) as a child process.
// Test-only; knows no generated code, so each test pairs it with its own
// version of the Catalog.
//
// Thread-safe: free functions.
#ifndef SOCKRPC_TESTS_COMPAT_COMPAT_TESTING_H_
#define SOCKRPC_TESTS_COMPAT_COMPAT_TESTING_H_

#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"

namespace compat {
namespace testing {

using ::sockrpc::testing::kProcessTimeout;

// A running Catalog server.
using CatalogServer = ::sockrpc::testing::StartedServer;

// StartCatalogServer starts `binary` (a program of the build, see BinaryPath())
// with
// --listen `listen_address` and returns once it has printed "server
// waiting".
inline absl::StatusOr<CatalogServer> StartCatalogServer(
    absl::string_view binary, const std::string& listen_address) {
  return ::sockrpc::testing::StartServerProcess(
      binary, {absl::StrCat("--listen=", listen_address)});
}

// StopCatalogServer sends SIGTERM and returns OK if the server then exits
// with status 0 after printing "server stopped".
inline absl::Status StopCatalogServer(CatalogServer& server) {
  absl::Status signalled = server.process->Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<int> status = server.process->WaitForExit(kProcessTimeout);
  if (!status.ok()) return status.status();
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(
        absl::StrCat("server ", sockrpc::testing::DescribeWaitStatus(*status),
                     "; stderr: ", server.process->StderrText()));
  }
  absl::StatusOr<std::string> stopped =
      server.process->WaitForLine("server stopped", kProcessTimeout);
  return stopped.status();
}

// The value of `name=` in a server's call line, up to the next space, e.g.
// FieldOf("v1 Lookup sku=\"a\" peer=ipv4:1.2.3.4:5", "peer") is
// "ipv4:1.2.3.4:5". Empty if the line has no such field.
inline std::string FieldOf(absl::string_view line, absl::string_view name) {
  const std::string key = absl::StrCat(" ", name, "=");
  size_t start = line.find(key);
  if (start == absl::string_view::npos) return "";
  start += key.size();
  size_t end = line.find(' ', start);
  return std::string(line.substr(start, end == absl::string_view::npos
                                            ? absl::string_view::npos
                                            : end - start));
}

}  // namespace testing
}  // namespace compat

#endif  // SOCKRPC_TESTS_COMPAT_COMPAT_TESTING_H_
