#include "tests/cli_testing.h"

#include <sys/wait.h>

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/testing/increment_server.h"

namespace sockrpc {
namespace testing {

CliRun RunCli(const std::vector<std::string>& args,
              const std::optional<std::string>& stdin_file) {
  CliRun run;
  std::string binary = BinaryPath("sockrpc");
  std::vector<std::string> argv = args;
  if (stdin_file.has_value()) {
    argv = {"-c", "f=$1; shift; exec \"$@\" < \"$f\"", "sh", *stdin_file,
            binary};
    argv.insert(argv.end(), args.begin(), args.end());
    binary = "/bin/sh";
  }
  absl::StatusOr<ProgramRun> ran = RunProgram(binary, argv, kProcessTimeout);
  if (!ran.ok()) {
    ADD_FAILURE() << "sockrpc " << absl::StrJoin(args, " ") << ": "
                  << ran.status();
    return run;
  }
  if (WIFEXITED(ran->wait_status))
    run.exit_code = WEXITSTATUS(ran->wait_status);
  run.out = std::move(ran->stdout_text);
  run.err = std::move(ran->stderr_text);
  return run;
}

StartedServer StartServer(const std::string& binary, const TempDir& dir,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> args = {
      "--listen", UniqueListenAddress(Transport::kUnixPath, dir)};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<StartedServer> server = StartServerProcess(binary, args);
  if (!server.ok()) {
    ADD_FAILURE() << binary << ": " << server.status();
    return StartedServer();
  }
  return *std::move(server);
}

}  // namespace testing
}  // namespace sockrpc
