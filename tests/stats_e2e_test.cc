// End-to-end tests of live stats: the real increment_server (and
// interop_server) started with --stats, called by the real increment_client,
// read by the real `sockrpc stats` as a table, JSON and Prometheus text,
// and with --watch until SIGTERM; and what `sockrpc stats` says of a server
// without stats, of a TCP peer, of bad options.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"

namespace sockrpc {
namespace {

using testing::BinaryPath;
using testing::ChildProcess;
using testing::CliRun;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::kProcessTimeout;
using ::testing::Not;
using testing::RunCli;
using testing::StartedServer;
using testing::StartServer;
using testing::TempDir;

constexpr int kFailed = 1;
constexpr int kUsage = 2;

// Runs the real increment_client once against `address`; its stdout.
std::string Increment(const std::string& address, const std::string& c) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> client = ChildProcess::Start(
      BinaryPath("increment_client"), {"--target", address, "--char", c});
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return "";
  absl::StatusOr<int> status = (*client)->WaitForExit(kProcessTimeout);
  EXPECT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE((*client)->WaitForOutputEnd(kProcessTimeout).ok());
  return (*client)->StdoutText();
}

// The line of `text` that contains `needle` ("" if none).
std::string LineWith(const std::string& text, const std::string& needle) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StrContains(line, needle)) return std::string(line);
  }
  return "";
}

class StatsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer("increment_server", dir_, {"--stats"});
    ASSERT_NE(server_.process, nullptr);
    EXPECT_EQ(Increment(server_.address, "A"), "char from server = B\n");
    EXPECT_EQ(Increment(server_.address, "y"), "char from server = z\n");
    EXPECT_EQ(Increment(server_.address, "Q"), "char from server = R\n");
    // Not one character: the server answers INVALID_ARGUMENT.
    Increment(server_.address, "ab");
  }

  TempDir dir_;
  StartedServer server_;
};

TEST_F(StatsCliTest, TableShowsEachMethodsCallsAndTheConnection) {
  CliRun run = RunCli({"stats", server_.address});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, ContainsRegex("^up [0-9]+s   connections: 1 open, "
                                     "[0-9]+ accepted   bytes: "));
  const std::string row = LineWith(run.out, "/increment.Increment/Increment");
  EXPECT_THAT(row, ContainsRegex("unary +4 +0 +<="));
  EXPECT_THAT(row, HasSubstr("3 OK, 1 INVALID_ARGUMENT"));
  // Methods never called are hidden unless --all.
  EXPECT_THAT(run.out, Not(HasSubstr("/sockrpc.health.v1.Health/Watch")));
  EXPECT_THAT(run.out, HasSubstr("--all lists them"));
  // This very connection, with the stats tool's credentials.
  const std::string connection = LineWith(run.out, server_.address);
  // pid, uid, gid, connected, in, out, calls (the GetStats call).
  EXPECT_THAT(connection,
              ContainsRegex(absl::StrCat(" [0-9]+  +", getuid(),
                                         "  +[0-9]+  +"
                                         "[0-9]+s ago  .* B  .* B  +1$")));

  run = RunCli({"stats", "--all", "--connections", "0", server_.address});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(LineWith(run.out, "/sockrpc.health.v1.Health/Watch"),
              ContainsRegex("server_streaming +0 +0 +- +- +- +-"));
  EXPECT_THAT(run.out, HasSubstr("(1 open connections not listed; "
                                 "--connections N lists them)"));
}

TEST_F(StatsCliTest, JsonIsTheMessageWithEveryField) {
  CliRun run = RunCli({"stats", "--json", server_.address});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("\"method\":\"/increment.Increment/Increment\","
                        "\"kind\":\"unary\",\"started\":\"4\","
                        "\"inFlight\":\"0\",\"finished\":[{\"code\":0,"
                        "\"count\":\"3\"},{\"code\":3,\"count\":\"1\"}]"));
  // Zeros are printed, not left out.
  EXPECT_THAT(run.out, HasSubstr("\"started\":\"0\""));
  EXPECT_EQ(run.out.back(), '\n');
  EXPECT_EQ(RunCli({"stats", "--format", "json", server_.address}).exit_code,
            0);
}

TEST_F(StatsCliTest, PrometheusTextHasCountersAndHistograms) {
  CliRun run = RunCli({"stats", "--format", "prometheus", server_.address});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& out = run.out;
  EXPECT_THAT(out, HasSubstr("# TYPE sockrpc_server_calls_started_total "
                             "counter\n"));
  EXPECT_THAT(out, HasSubstr("sockrpc_server_calls_started_total{method=\"/"
                             "increment.Increment/Increment\"} 4\n"));
  EXPECT_THAT(out,
              HasSubstr("sockrpc_server_calls_finished_total{method=\"/"
                        "increment.Increment/Increment\",code=\"OK\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE sockrpc_server_call_duration_seconds "
                             "histogram\n"));
  // Cumulative buckets end with +Inf, which holds every call.
  EXPECT_THAT(out, HasSubstr("sockrpc_server_call_duration_seconds_bucket{"
                             "method=\"/increment.Increment/Increment\","
                             "le=\"+Inf\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("sockrpc_server_call_duration_seconds_count{"
                             "method=\"/increment.Increment/Increment\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("sockrpc_server_connections_open 1\n"));
  EXPECT_THAT(out, ContainsRegex(
                       "sockrpc_server_connection_calls_in_flight\\{connection="
                       "\"[0-9]+\",peer=\"unix:[^\"]+\",pid=\"[0-9]+\",uid=\"" +
                       std::to_string(getuid()) + "\",gid=\"[0-9]+\"\\} 1\n"));
}

TEST_F(StatsCliTest, WatchRefreshesUntilSigterm) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> watch = ChildProcess::Start(
      BinaryPath("sockrpc"),
      {"stats", "--watch", "--interval", "50ms", server_.address});
  ASSERT_TRUE(watch.ok()) << watch.status();
  // From the second table on, a calls/s column (and the increments done
  // meanwhile show in it).
  ASSERT_TRUE((*watch)->WaitForLine("calls/s", kProcessTimeout).ok());
  EXPECT_EQ(Increment(server_.address, "b"), "char from server = c\n");
  ASSERT_TRUE(
      (*watch)->WaitForLine("3 OK, 1 INVALID_ARGUMENT", kProcessTimeout).ok());
  ASSERT_TRUE(
      (*watch)->WaitForLine("4 OK, 1 INVALID_ARGUMENT", kProcessTimeout).ok());
  ASSERT_TRUE((*watch)->Signal(SIGTERM).ok());
  absl::StatusOr<int> status = (*watch)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(StatsCliErrorsTest, ServerWithoutStatsSaysHowToTurnThemOn) {
  TempDir dir;
  StartedServer server = StartServer("increment_server", dir);
  ASSERT_NE(server.process, nullptr);
  CliRun run = RunCli({"stats", server.address});
  EXPECT_EQ(run.exit_code, kFailed);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, HasSubstr("ERROR: UNIMPLEMENTED: the server does not "
                                 "serve its stats"));
  EXPECT_THAT(run.err, HasSubstr("--stats"));
}

TEST(StatsCliErrorsTest, TcpPeerIsRefused) {
  TempDir dir;
  StartedServer server = StartServer(
      "interop_server", dir, {"--stats", "--listen", "ipv4:127.0.0.1:0"});
  ASSERT_NE(server.process, nullptr);
  ASSERT_THAT(server.address, HasSubstr("127.0.0.1"));
  CliRun run = RunCli({"stats", server.address});
  EXPECT_EQ(run.exit_code, kFailed);
  EXPECT_THAT(run.err, HasSubstr("ERROR: PERMISSION_DENIED: stats are "
                                 "readable only over a unix socket"));
}

TEST(StatsCliErrorsTest, NoServerAndBadOptions) {
  TempDir dir;
  CliRun run = RunCli({"stats", absl::StrCat("unix:", dir.File("none"))});
  EXPECT_EQ(run.exit_code, kFailed);
  EXPECT_THAT(run.err, HasSubstr("ERROR: UNAVAILABLE: "));
  EXPECT_EQ(RunCli({"stats"}).exit_code, kUsage);
  EXPECT_EQ(RunCli({"stats", "unix:/a", "unix:/b"}).exit_code, kUsage);
  run = RunCli({"stats", "--format", "xml", "unix:/a"});
  EXPECT_EQ(run.exit_code, kUsage);
  EXPECT_THAT(run.err, HasSubstr("table, json or prometheus"));
  EXPECT_EQ(RunCli({"stats", "--interval", "0s", "unix:/a"}).exit_code, kUsage);
  EXPECT_EQ(RunCli({"stats", "--connections", "many", "unix:/a"}).exit_code,
            kUsage);
}

}  // namespace
}  // namespace sockrpc
