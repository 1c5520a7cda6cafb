#include "tests/testing/server_process.h"

#include <utility>

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

}  // namespace testing
}  // namespace sockrpc
