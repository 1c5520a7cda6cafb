// The stress client against the current build: stress_client (a mixed
// load in which every reply is checked, with churn and hostile peers) runs
// for a few seconds against the real interop_server, over a unix socket and
// over TCP; the run must end with no unexpected error, no wrong reply and
// no hang, and the server must be left with no connection open. Run again
// as blocking_server/... against the server's blocking API.
//
// ./build.sh soak runs the same client for minutes, ./build.sh skew against
// a server (or with a client) of another version.
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::OpenSockets;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::WaitForOpenSockets;
using ::testing::HasSubstr;
using ::testing::Not;

class StressTest : public ::testing::TestWithParam<bool> {
 protected:
  std::string ListenAddress() {
    return GetParam() ? "ipv4:127.0.0.1:0"
                      : absl::StrCat("unix:", dir_.File("s"));
  }
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Transports, StressTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Tcp" : "Unix");
                         });

TEST_P(StressTest, MixedLoadWithChurnAndHostilePeersIsServedCorrectly) {
  absl::StatusOr<StartedServer> server =
      StartServerBinary("interop_server", ListenAddress());
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> idle_sockets = OpenSockets(server->process->pid());
  ASSERT_TRUE(idle_sockets.ok()) << idle_sockets.status();

  absl::StatusOr<std::unique_ptr<ChildProcess>> client = ChildProcess::Start(
      BinaryPath("stress_client"),
      {"--target", server->address, "--workers", "16", "--duration", "3s",
       "--churn", "--hostile", "2"});
  ASSERT_TRUE(client.ok()) << client.status();
  // 3 s of load, then every call ends by its deadline (20 s) or is a hang
  // the client reports itself (5 s later).
  absl::StatusOr<int> status = (*client)->WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE((*client)->WaitForOutputEnd(kIoTimeout).ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeWaitStatus(*status) << "\n"
      << (*client)->StdoutText() << (*client)->StderrText();
  EXPECT_THAT((*client)->StdoutText(),
              HasSubstr("unexpected_errors 0 wrong 0 hangs 0"));
  EXPECT_THAT((*client)->StdoutText(), Not(HasSubstr("hostile 0\n")));

  // Nothing of the load is left in the server.
  EXPECT_TRUE(
      WaitForOpenSockets(server->process->pid(), *idle_sockets, kIoTimeout)
          .ok());
}

}  // namespace
