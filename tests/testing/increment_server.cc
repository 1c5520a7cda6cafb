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
  return StartServerProcess("increment_server", args);
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
  return RunProgram(BinaryPath("increment_client"), args, kProcessTimeout);
}

}  // namespace testing
}  // namespace sockrpc
