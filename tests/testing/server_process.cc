#include "tests/testing/server_process.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sockrpc {
namespace testing {

absl::StatusOr<StartedServer> AwaitServing(
    std::unique_ptr<ChildProcess> process) {
  absl::StatusOr<std::string> listening =
      process->WaitForLine("listening on ", kProcessTimeout);
  if (!listening.ok()) return listening.status();
  absl::StatusOr<std::string> waiting =
      process->WaitForLine("server waiting", kProcessTimeout);
  if (!waiting.ok()) return waiting.status();
  // WaitForLine() found the line by this substring; the address follows.
  constexpr absl::string_view kListeningOn = "listening on ";
  absl::string_view line = *listening;
  line.remove_prefix(line.find(kListeningOn) + kListeningOn.size());
  StartedServer server;
  server.process = std::move(process);
  server.address = std::string(line);
  return server;
}

absl::StatusOr<StartedServer> StartServerProcess(
    absl::string_view name, const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath(name), ServerFlags(name, args));
  if (!process.ok()) return process.status();
  return AwaitServing(*std::move(process));
}

std::string BinaryPath(absl::string_view name) {
  std::string test_program = absl::StrCat(SOCKRPC_TEST_BIN_DIR, "/", name);
  if (access(test_program.c_str(), X_OK) == 0) return test_program;
  return absl::StrCat(SOCKRPC_BIN_DIR, "/", name);
}

std::vector<std::string> ServerFlags(absl::string_view name,
                                     std::vector<std::string> flags) {
  const char* extra = std::getenv("SOCKRPC_TEST_INTEROP_SERVER_FLAGS");
  if (name != "interop_server" || extra == nullptr) return flags;
  for (absl::string_view word : absl::StrSplit(extra, ' ', absl::SkipEmpty())) {
    flags.emplace_back(word);
  }
  return flags;
}

}  // namespace testing
}  // namespace sockrpc
