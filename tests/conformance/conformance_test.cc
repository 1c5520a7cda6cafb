// `sockrpc conformance` end to end: the real tool against the real
// servers, where every check that applies must pass, and against
// misbehaving_server, where each check must fail for the one bug that
// breaks its rule (so no check passes whatever the server does).
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/temp_dir.h"
#include "tools/conformance/check.h"
#include "tools/conformance/client_judge.h"

namespace sockrpc {
namespace testing {
namespace {

using conformance::AllServerChecks;
using conformance::Check;
using conformance::Needs;

// Long enough for a whole run under the sanitizers.
constexpr absl::Duration kRunTimeout = absl::Seconds(120);

struct ConformanceRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::map<std::string, std::string> results;  // check id -> pass/fail/skip
};

// Waits for the `sockrpc conformance` in `process` to exit and reads each
// check's result from its --json output.
ConformanceRun Finish(ChildProcess& process) {
  ConformanceRun run;
  absl::StatusOr<int> status = process.WaitForExit(kRunTimeout);
  EXPECT_TRUE(process.WaitForOutputEnd(kRunTimeout).ok());
  run.out = process.StdoutText();
  run.err = process.StderrText();
  if (!status.ok()) {
    ADD_FAILURE() << "sockrpc conformance did not exit: " << status.status();
    return run;
  }
  run.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  // {"id":"3/1","title":...,"result":"pass"...}: the fields come in that
  // order, and ids and results need no escaping.
  size_t at = 0;
  while ((at = run.out.find("{\"id\":\"", at)) != std::string::npos) {
    at += 7;
    const std::string id = run.out.substr(at, run.out.find('"', at) - at);
    const size_t result = run.out.find("\"result\":\"", at) + 10;
    run.results[id] = run.out.substr(result, 4);
  }
  return run;
}

// Starts `sockrpc conformance ARGS --json`.
std::unique_ptr<ChildProcess> StartConformance(std::vector<std::string> args) {
  args.insert(args.begin(), "conformance");
  args.push_back("--json");
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath("sockrpc"), args);
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

// Runs `sockrpc conformance ARGS --json` to its end.
ConformanceRun RunConformance(std::vector<std::string> args) {
  std::unique_ptr<ChildProcess> process = StartConformance(std::move(args));
  return process == nullptr ? ConformanceRun{} : Finish(*process);
}

std::string Describe(const ConformanceRun& run) {
  return absl::StrCat("exit ", run.exit_code, "\nstdout: ", run.out,
                      "\nstderr: ", run.err);
}

std::string Pid(const StartedServer& server) {
  return absl::StrCat(server.process->pid());
}

TEST(ConformanceTest, InteropServerPassesEveryCheck) {
  TempDir dir;
  StartedServer server =
      StartServer("interop_server", dir, {"--handshake_timeout=1s"});
  ASSERT_FALSE(server.address.empty());
  ConformanceRun run = RunConformance({server.address, "--max-frame-size",
                                       "1048576", "--handshake-timeout", "1s",
                                       "--shutdown-pid", Pid(server)});
  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  ASSERT_EQ(run.results.size(), AllServerChecks().size()) << Describe(run);
  for (const auto& [id, result] : run.results) {
    EXPECT_EQ(result, "pass") << id << "\n" << Describe(run);
  }
}

TEST(ConformanceTest, IncrementServerPassesEveryCheckThatApplies) {
  TempDir dir;
  StartedServer server =
      StartServer("increment_server", dir, {"--handshake_timeout=1s"});
  ASSERT_FALSE(server.address.empty());
  ConformanceRun run = RunConformance(
      {server.address, "--method", "/increment.Increment/Increment",
       "--request", "0a0141", "--handshake-timeout", "1s", "--shutdown-pid",
       Pid(server)});
  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  ASSERT_EQ(run.results.size(), AllServerChecks().size()) << Describe(run);
  for (const Check& check : AllServerChecks()) {
    // Only the checks that need a streaming method of the interop service
    // do not apply to Increment.
    EXPECT_EQ(run.results[check.id],
              check.needs == Needs::kInterop ? "skip" : "pass")
        << check.id << "\n"
        << Describe(run);
  }
}

// Starts misbehaving_server in front of `upstream`, breaking the rule of
// `check_id` (none if empty).
StartedServer StartMisbehavingServer(const TempDir& dir,
                                     const std::string& upstream,
                                     const std::string& check_id) {
  std::vector<std::string> flags = {"--upstream", upstream};
  if (!check_id.empty()) flags.push_back("--break_check=" + check_id);
  return StartServer("misbehaving_server", dir, flags);
}

TEST(ConformanceTest, FaithfulRelayPassesEveryCheck) {
  // The relay without a bug passes, so that under a bug a check fails for
  // that bug alone.
  TempDir dir;
  StartedServer upstream =
      StartServer("interop_server", dir, {"--handshake_timeout=1s"});
  ASSERT_FALSE(upstream.address.empty());
  StartedServer relay = StartMisbehavingServer(dir, upstream.address, "");
  ASSERT_FALSE(relay.address.empty());
  // The same flags as the runs against the bugs below, the 1 s timeout
  // included: a check failing there fails for its bug, not for the time.
  ConformanceRun run = RunConformance(
      {relay.address, "--timeout", "1s", "--max-frame-size", "1048576",
       "--handshake-timeout", "1s", "--shutdown-pid", Pid(upstream)});
  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  ASSERT_EQ(run.results.size(), AllServerChecks().size()) << Describe(run);
  for (const auto& [id, result] : run.results) {
    EXPECT_EQ(result, "pass") << id << "\n" << Describe(run);
  }
}

class BrokenRuleTest : public ::testing::TestWithParam<Check> {};

TEST_P(BrokenRuleTest, CheckFailsAgainstAServerBreakingItsRule) {
  const Check& check = GetParam();
  TempDir dir;
  StartedServer upstream =
      StartServer("interop_server", dir, {"--handshake_timeout=1s"});
  ASSERT_FALSE(upstream.address.empty());
  StartedServer broken =
      StartMisbehavingServer(dir, upstream.address, check.id);
  ASSERT_FALSE(broken.address.empty());
  std::vector<std::string> args = {
      broken.address, "--only",           check.id,   "--timeout",
      "1s",           "--max-frame-size", "1048576",  "--handshake-timeout",
      "1s",           "--shutdown-pid",   Pid(broken)};
  ConformanceRun run = RunConformance(args);
  EXPECT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_EQ(run.results.size(), 1u) << Describe(run);
  EXPECT_EQ(run.results[check.id], "fail") << Describe(run);
}

INSTANTIATE_TEST_SUITE_P(EveryCheck, BrokenRuleTest,
                         ::testing::ValuesIn(AllServerChecks()),
                         [](const ::testing::TestParamInfo<Check>& info) {
                           // "8.1/12" -> "check_8_1_12"
                           return absl::StrCat(
                               "check_",
                               absl::StrReplaceAll(info.param.id,
                                                   {{".", "_"}, {"/", "_"}}));
                         });

// `sockrpc conformance --client` in front of a fresh interop_server, with
// the address clients connect to.
struct StrictServer {
  StartedServer upstream;
  std::unique_ptr<ChildProcess> checker;
  std::string address;
};

StrictServer StartStrictServer(const TempDir& dir) {
  StrictServer strict;
  strict.upstream = StartServer("interop_server", dir);
  if (strict.upstream.address.empty()) return strict;
  const std::string listen = UniqueListenAddress(Transport::kUnixPath, dir);
  strict.checker = StartConformance(
      {"--client", "--listen", listen, "--upstream", strict.upstream.address});
  if (strict.checker == nullptr) return strict;
  absl::StatusOr<std::string> line =
      strict.checker->WaitForLine("listening on", kRunTimeout);
  EXPECT_TRUE(line.ok()) << line.status();
  if (line.ok()) strict.address = listen;
  return strict;
}

// Runs `binary args...` to its end; its exit status.
int RunToEnd(const std::string& binary, const std::vector<std::string>& args,
             std::string* output) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath(binary), args);
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return -1;
  }
  absl::StatusOr<int> status = (*process)->WaitForExit(kRunTimeout);
  EXPECT_TRUE((*process)->WaitForOutputEnd(kRunTimeout).ok());
  *output = (*process)->StdoutText() + (*process)->StderrText();
  if (!status.ok() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

TEST(ClientConformanceTest, InteropClientPassesEveryClientCheck) {
  // interop_client's 18 cases through the strict server: each case still
  // passes (the client copes with the PING and the unknown frames), and
  // every client check passes.
  TempDir dir;
  StrictServer strict = StartStrictServer(dir);
  ASSERT_FALSE(strict.address.empty());
  std::string output;
  EXPECT_EQ(RunToEnd("interop_client",
                     {"--target", strict.address, "--case", "all"}, &output),
            0)
      << output;
  ASSERT_TRUE(strict.checker->Signal(SIGTERM).ok());
  ConformanceRun run = Finish(*strict.checker);
  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  ASSERT_EQ(run.results.size(), conformance::ClientChecks().size())
      << Describe(run);
  for (const auto& [id, result] : run.results) {
    EXPECT_EQ(result, "pass") << id << "\n" << Describe(run);
  }
}

class BrokenClientRuleTest
    : public ::testing::TestWithParam<conformance::ClientCheck> {};

TEST_P(BrokenClientRuleTest, CheckFailsAgainstAClientBreakingItsRule) {
  const conformance::ClientCheck& check = GetParam();
  TempDir dir;
  StrictServer strict = StartStrictServer(dir);
  ASSERT_FALSE(strict.address.empty());
  std::string output;
  EXPECT_EQ(RunToEnd("misbehaving_client",
                     {"--target", strict.address, "--break_check", check.id},
                     &output),
            0)
      << output;
  ASSERT_TRUE(strict.checker->Signal(SIGTERM).ok());
  ConformanceRun run = Finish(*strict.checker);
  EXPECT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_EQ(run.results[check.id], "fail") << Describe(run);
}

INSTANTIATE_TEST_SUITE_P(
    EveryClientCheck, BrokenClientRuleTest,
    ::testing::ValuesIn(conformance::ClientChecks()),
    [](const ::testing::TestParamInfo<conformance::ClientCheck>& info) {
      return absl::StrCat(
          "check_",
          absl::StrReplaceAll(info.param.id, {{".", "_"}, {"/", "_"}}));
    });

}  // namespace
}  // namespace testing
}  // namespace sockrpc
