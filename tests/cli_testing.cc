#include "tests/cli_testing.h"

#include <sys/wait.h>

#include <utility>

#include "absl/status/statusor.h"
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
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(binary, argv);
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return run;
  }
  absl::StatusOr<int> status = (*process)->WaitForExit(kProcessTimeout);
  if (!status.ok()) {
    ADD_FAILURE() << "sockrpc did not exit: " << status.status();
    return run;
  }
  EXPECT_TRUE((*process)->WaitForOutputEnd(kProcessTimeout).ok());
  if (WIFEXITED(*status)) run.exit_code = WEXITSTATUS(*status);
  run.out = (*process)->StdoutText();
  run.err = (*process)->StderrText();
  return run;
}

ServerProcess StartServer(const std::string& binary, const TempDir& dir,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> args = {
      "--listen", UniqueListenAddress(Transport::kUnixPath, dir)};
  for (std::string& flag : ServerFlags(binary, flags)) {
    args.push_back(std::move(flag));
  }
  ServerProcess server;
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath(binary), args);
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return server;
  }
  server.process = *std::move(process);
  absl::StatusOr<std::string> listening =
      server.process->WaitForLine("listening on ", kProcessTimeout);
  EXPECT_TRUE(listening.ok()) << listening.status();
  EXPECT_TRUE(
      server.process->WaitForLine("server waiting", kProcessTimeout).ok());
  if (listening.ok()) {
    server.address =
        std::string(listening->substr(listening->find("listening on ") + 13));
  }
  return server;
}

}  // namespace testing
}  // namespace sockrpc
