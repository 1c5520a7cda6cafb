#include "tests/testing/increment_server.h"

#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace testing {

absl::StatusOr<StartedServer> StartIncrementServer(
    absl::string_view listen_address,
    const std::vector<std::string>& extra_flags) {
  std::vector<std::string> args = {"--listen", std::string(listen_address)};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath("increment_server"), args);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> listening =
      (*process)->WaitForLine("listening on ", kProcessTimeout);
  if (!listening.ok()) return listening.status();
  absl::StatusOr<std::string> waiting =
      (*process)->WaitForLine("server waiting", kProcessTimeout);
  if (!waiting.ok()) return waiting.status();

  constexpr absl::string_view kPrefix = "listening on ";
  absl::string_view line = *listening;
  line.remove_prefix(line.find(kPrefix) + kPrefix.size());
  StartedServer server;
  server.process = *std::move(process);
  server.address = std::string(line);
  return server;
}

std::string TransportName(Transport transport) {
  switch (transport) {
    case Transport::kUnixPath:
      return "UnixPath";
    case Transport::kUnixAbstract:
      return "UnixAbstract";
    case Transport::kTcp:
      return "Tcp";
  }
  return "Unknown";
}

std::string UniqueAbstractName() {
  static std::atomic<int> counter{0};
  return absl::StrCat("sockrpc-e2e-", getpid(), "-", counter++);
}

std::string UniqueListenAddress(Transport transport, const TempDir& dir) {
  switch (transport) {
    case Transport::kUnixPath: {
      static std::atomic<int> counter{0};
      return absl::StrCat("unix:", dir.File(absl::StrCat("s", counter++)));
    }
    case Transport::kUnixAbstract:
      return absl::StrCat("unix-abstract:", UniqueAbstractName());
    case Transport::kTcp:
      return "ipv4:127.0.0.1:0";
  }
  return "";
}

absl::StatusOr<ClientRun> RunIncrementClient(
    const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath("increment_client"), args);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> status = (*process)->WaitForExit(kProcessTimeout);
  if (!status.ok()) return status.status();
  absl::Status ended = (*process)->WaitForOutputEnd(kProcessTimeout);
  if (!ended.ok()) return ended;
  ClientRun run;
  run.wait_status = *status;
  run.stdout_text = (*process)->StdoutText();
  run.stderr_text = (*process)->StderrText();
  return run;
}

}  // namespace testing
}  // namespace sockrpc
