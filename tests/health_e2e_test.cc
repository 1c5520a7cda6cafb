// End-to-end tests of health checking: the real `sockrpc health` against
// the real health_server (tests/health/health_server.cc), whose statuses
// the tests flip with SIGUSR1 (NOT_SERVING) and SIGUSR2 (SERVING), and
// against sockets that are no sockrpc server. The exit codes are those of
// tools/cli/commands.h.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "sockrpc/health.sockrpc.pb.h"
#include "tests/cli_testing.h"
#include "tests/testing/socket_testing.h"
#include "transport/address.h"
#include "transport/socket.h"

namespace sockrpc {
namespace {

namespace hv1 = ::sockrpc::health::v1;
using testing::BinaryPath;
using testing::ChildProcess;
using testing::CliRun;
using ::testing::HasSubstr;
using testing::kProcessTimeout;
using testing::RunCli;
using testing::StartedServer;
using testing::StartServer;
using ::testing::StartsWith;
using testing::TempDir;

constexpr int kServing = 0;
constexpr int kNoAnswer = 1;
constexpr int kUsage = 2;
constexpr int kNotServing = 3;
constexpr int kServiceUnknown = 4;

StartedServer StartHealthServer(const TempDir& dir,
                                const std::vector<std::string>& flags = {}) {
  return StartServer("health_server", dir, flags);
}

// Starts `sockrpc args...` without waiting for it to end.
std::unique_ptr<ChildProcess> StartCli(const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> cli =
      ChildProcess::Start(BinaryPath("sockrpc"), args);
  EXPECT_TRUE(cli.ok()) << cli.status();
  return cli.ok() ? *std::move(cli) : nullptr;
}

// The exit code of a child that exited, -1 otherwise.
int ExitCode(ChildProcess& child) {
  absl::StatusOr<int> status = child.WaitForExit(kProcessTimeout);
  if (!status.ok() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

TEST(HealthCliTest, ServingServerAndServiceExitZero) {
  TempDir dir;
  StartedServer server = StartHealthServer(dir);
  CliRun run = RunCli({"health", server.address});
  EXPECT_EQ(run.exit_code, kServing) << run.err;
  EXPECT_EQ(run.out, "SERVING\n");
  run = RunCli({"health", server.address, "increment.Increment"});
  EXPECT_EQ(run.exit_code, kServing) << run.err;
  EXPECT_EQ(run.out, "SERVING\n");
}

TEST(HealthCliTest, NotServingExitsThree) {
  TempDir dir;
  StartedServer server =
      StartHealthServer(dir, {"--server_not_serving", "--not_serving=a.B"});
  CliRun run = RunCli({"health", server.address});
  EXPECT_EQ(run.exit_code, kNotServing) << run.err;
  EXPECT_EQ(run.out, "NOT_SERVING\n");
  run = RunCli({"health", server.address, "a.B"});
  EXPECT_EQ(run.exit_code, kNotServing) << run.err;
  // The other services serve still.
  run = RunCli({"health", server.address, "increment.Increment"});
  EXPECT_EQ(run.exit_code, kServing) << run.err;

  // SIGUSR2 makes the server and increment.Increment SERVING.
  ASSERT_TRUE(server.process->Signal(SIGUSR2).ok());
  ASSERT_TRUE(
      server.process->WaitForLine("health: \"\" SERVING", kProcessTimeout)
          .ok());
  run = RunCli({"health", server.address});
  EXPECT_EQ(run.exit_code, kServing) << run.err;
}

TEST(HealthCliTest, UnknownServiceExitsFour) {
  TempDir dir;
  StartedServer server = StartHealthServer(dir);
  CliRun run = RunCli({"health", server.address, "no.Such"});
  EXPECT_EQ(run.exit_code, kServiceUnknown) << run.err;
  EXPECT_EQ(run.out, "SERVICE_UNKNOWN\n");
}

TEST(HealthCliTest, NoServerExitsOne) {
  TempDir dir;
  CliRun run = RunCli({"health", absl::StrCat("unix:", dir.File("none"))});
  EXPECT_EQ(run.exit_code, kNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, StartsWith("ERROR: UNAVAILABLE: "));
}

TEST(HealthCliTest, BadUsageExitsTwo) {
  EXPECT_EQ(RunCli({"health"}).exit_code, kUsage);
  EXPECT_EQ(RunCli({"health", "unix:a", "b", "c"}).exit_code, kUsage);
  CliRun run = RunCli({"health", "nowhere"});
  EXPECT_EQ(run.exit_code, kUsage);
  EXPECT_THAT(run.err, HasSubstr("nowhere"));
  run = RunCli({"health", "--timeout", "soon", "unix:a"});
  EXPECT_EQ(run.exit_code, kUsage);
  EXPECT_THAT(run.err, HasSubstr("--timeout"));
}

TEST(HealthCliTest, SilentSocketIsNoServerAfterConnectTimeout) {
  // A socket that accepts connections (the kernel's backlog does) and
  // never says a word.
  TempDir dir;
  absl::StatusOr<Listener> listener =
      Listener::Bind(testing::MustParse(absl::StrCat("unix:", dir.File("s"))));
  ASSERT_TRUE(listener.ok()) << listener.status();
  CliRun run = RunCli({"health", "--connect-timeout=200ms",
                       absl::StrCat("unix:", dir.File("s"))});
  EXPECT_EQ(run.exit_code, kNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, StartsWith("ERROR: ")) << run.err;
}

TEST(HealthCliTest, OtherProtocolIsNoServer) {
  // A server of another protocol, which greets first.
  TempDir dir;
  const std::string address = absl::StrCat("unix:", dir.File("s"));
  absl::StatusOr<Listener> listener =
      Listener::Bind(testing::MustParse(address));
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<ChildProcess> cli = StartCli({"health", address});
  ASSERT_NE(cli, nullptr);
  Fd connection = testing::AcceptOne(*listener);
  ASSERT_TRUE(connection.valid());
  testing::WriteAll(connection.get(), "SSH-2.0-OpenSSH_9.6\r\n");
  EXPECT_EQ(ExitCode(*cli), kNoAnswer);
  ASSERT_TRUE(cli->WaitForOutputEnd(kProcessTimeout).ok());
  EXPECT_EQ(cli->StdoutText(), "");
  EXPECT_THAT(cli->StderrText(), StartsWith("ERROR: "));
}

TEST(HealthCliTest, ServerWithoutHealthServiceSaysSo) {
  TempDir dir;
  StartedServer server = StartHealthServer(dir, {"--health=false"});
  CliRun run = RunCli({"health", server.address});
  EXPECT_EQ(run.exit_code, kNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err,
              StartsWith("ERROR: UNIMPLEMENTED: the server does not serve the "
                         "health service (sockrpc.health.v1.Health)"));
}

TEST(HealthCliTest, ServerThatAuthenticatesWantsTheTokenInAHeader) {
  // Health calls go through the server's interceptors like any call.
  TempDir dir;
  StartedServer server =
      StartServer("increment_server", dir, {"--require_token=s3cret"});
  CliRun run = RunCli({"health", server.address});
  EXPECT_EQ(run.exit_code, kNoAnswer);
  EXPECT_THAT(run.err, StartsWith("ERROR: UNAUTHENTICATED: "));
  run =
      RunCli({"health", "-H", "authorization: Bearer s3cret", server.address});
  EXPECT_EQ(run.exit_code, kServing) << run.err;
  EXPECT_EQ(run.out, "SERVING\n");
  run = RunCli({"health", "-H", "no-colon", server.address});
  EXPECT_EQ(run.exit_code, kUsage);
}

TEST(HealthCliTest, WatchPrintsChangesUntilTheServerShutsDown) {
  TempDir dir;
  StartedServer server = StartHealthServer(dir);
  std::unique_ptr<ChildProcess> cli =
      StartCli({"health", "--watch", server.address, "increment.Increment"});
  ASSERT_NE(cli, nullptr);
  ASSERT_TRUE(cli->WaitForLineStartingWith("SERVING", kProcessTimeout).ok());
  ASSERT_TRUE(server.process->Signal(SIGUSR1).ok());
  ASSERT_TRUE(
      cli->WaitForLineStartingWith("NOT_SERVING", kProcessTimeout).ok());
  ASSERT_TRUE(server.process->Signal(SIGUSR2).ok());
  ASSERT_TRUE(
      server.process
          ->WaitForLine("health: increment.Increment SERVING", kProcessTimeout)
          .ok());
  // Shutting down, the server sends NOT_SERVING and ends the stream; the
  // command exits with the code of the last status.
  ASSERT_TRUE(server.process->Signal(SIGTERM).ok());
  EXPECT_EQ(ExitCode(*cli), kNotServing);
  ASSERT_TRUE(cli->WaitForOutputEnd(kProcessTimeout).ok());
  EXPECT_THAT(cli->StdoutText(), StartsWith("SERVING\nNOT_SERVING\n"));
  EXPECT_THAT(cli->StdoutText(), ::testing::EndsWith("\nNOT_SERVING\n"));
  EXPECT_THAT(cli->StderrText(),
              HasSubstr("watch ended: UNAVAILABLE: server shutting down"));
}

TEST(HealthCliTest, InterruptedWatchExitsWithTheLastStatus) {
  TempDir dir;
  StartedServer server = StartHealthServer(dir);
  std::unique_ptr<ChildProcess> cli =
      StartCli({"health", "--watch", server.address});
  ASSERT_NE(cli, nullptr);
  ASSERT_TRUE(cli->WaitForLineStartingWith("SERVING", kProcessTimeout).ok());
  ASSERT_TRUE(cli->Signal(SIGINT).ok());
  EXPECT_EQ(ExitCode(*cli), kServing);
  ASSERT_TRUE(cli->WaitForOutputEnd(kProcessTimeout).ok());
  EXPECT_EQ(cli->StdoutText(), "SERVING\n");
  EXPECT_EQ(cli->StderrText(), "");
}

// The number of threads of process `pid`.
int ThreadCount(pid_t pid) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/task"))) {
    (void)entry;
    ++count;
  }
  return count;
}

TEST(HealthE2eTest, OpenWatchesHoldNoThread) {
  // Two handler threads, and many more open watches: a watch that held a
  // thread would leave none for the blocking Increment call below.
  TempDir dir;
  StartedServer server = StartHealthServer(dir, {"--max_threads=2"});
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(server.address);
  ASSERT_TRUE(channel.ok()) << channel.status();
  hv1::Health::Stub health(*channel);
  constexpr int kWatches = 100;
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::vector<ClientReader<hv1::HealthCheckResponse>> watches;
  for (int i = 0; i < kWatches; ++i) {
    contexts.push_back(std::make_unique<ClientContext>());
    contexts.back()->set_timeout(kProcessTimeout);
    hv1::HealthCheckRequest request;
    request.set_service(i % 2 == 0 ? "" : "increment.Increment");
    watches.push_back(health.Watch(contexts.back().get(), request));
    hv1::HealthCheckResponse reply;
    ASSERT_TRUE(watches.back().Read(&reply)) << watches.back().Finish();
    ASSERT_EQ(reply.status(), hv1::HealthCheckResponse::SERVING);
  }
  // At most max_threads + 2 server threads, and the main thread.
  EXPECT_LE(ThreadCount(server.process->pid()), 2 + 2 + 1);

  increment::Increment::Stub increment(*channel);
  increment::IncrementRequest request;
  request.set_character("A");
  ClientContext context;
  context.set_timeout(kProcessTimeout);
  absl::StatusOr<increment::IncrementReply> reply =
      increment.Increment(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");

  // Every watch sees the change.
  ASSERT_TRUE(server.process->Signal(SIGUSR1).ok());
  for (auto& watch : watches) {
    hv1::HealthCheckResponse change;
    ASSERT_TRUE(watch.Read(&change)) << watch.Finish();
    EXPECT_EQ(change.status(), hv1::HealthCheckResponse::NOT_SERVING);
  }
  for (auto& context : contexts) context->TryCancel();
}

}  // namespace
}  // namespace sockrpc
