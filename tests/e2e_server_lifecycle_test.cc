// End-to-end tests of the increment_server binary's life: start-up on a
// socket file (a live server already there, a stale socket file, a regular
// file in the way, --socket_mode), what a client sees with no server at
// all, and graceful shutdown by SIGTERM, SIGINT and SIGHUP.
//
// The server runs as a child process on a socket file in a per-test
// temporary directory. Calls over every transport are tested in
// e2e_increment_test.cc.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_calls.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::ExpectServes;
using ::sockrpc::testing::Increment;
using ::sockrpc::testing::kCallTimeout;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::MakeChannel;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::RunIncrementClient;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartIncrementServer;
using ::sockrpc::testing::TempDir;
using ::testing::HasSubstr;

// The socket file path of a "unix:PATH" address.
std::string SocketPath(const std::string& address) {
  absl::string_view path = address;
  EXPECT_TRUE(absl::ConsumePrefix(&path, "unix:")) << address;
  return std::string(path);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Tests of one transport (or none), with servers of their own.
class IncrementServerTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(IncrementServerTest, ClientWithNoServerExitsNonZeroNamingTheAddress) {
  const std::string target = absl::StrCat("unix:", dir_.File("nobody"));
  absl::StatusOr<sockrpc::testing::ClientRun> run =
      RunIncrementClient({"--target", target, "--char", "A"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(WIFEXITED(run->wait_status));
  EXPECT_NE(WEXITSTATUS(run->wait_status), 0);
  EXPECT_THAT(run->stderr_text, HasSubstr(target));
  EXPECT_EQ(run->stdout_text, "");
}

TEST_F(IncrementServerTest, CallWithNoServerIsUnavailableNamingTheAddress) {
  for (const std::string& target :
       {absl::StrCat("unix:", dir_.File("nobody")),
        absl::StrCat("unix-abstract:",
                     sockrpc::testing::UniqueAbstractName())}) {
    increment::Increment::Stub stub(MakeChannel(target));
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> reply = Increment(stub, "A");
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable)
        << reply.status();
    EXPECT_THAT(reply.status().message(), HasSubstr(target));
    EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "fails fast";
  }
}

TEST_F(IncrementServerTest, WaitForConnectedFindsAMissingServerBeforeAnyCall) {
  const std::string address = absl::StrCat("unix:", dir_.File("later"));
  std::shared_ptr<Channel> channel = MakeChannel(address);
  absl::Status status = channel->WaitForConnected(absl::Now() + kCallTimeout);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr(address));

  // Once a server listens, the same channel connects, and its first call
  // goes out on that connection.
  absl::StatusOr<StartedServer> server = StartIncrementServer(address);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(channel->WaitForConnected(absl::Now() + kCallTimeout).ok());
  increment::Increment::Stub stub(channel);
  absl::StatusOr<std::string> reply = Increment(stub, "A");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "B");
}

TEST_F(IncrementServerTest,
       UnaryCallWaitingForItsRequestIsServedWithinTheShutdownGrace) {
  // PROTOCOL.md section 9, steps 3-4: a call at or below the GOAWAY's
  // last_stream_id is finished during the grace, a unary call whose
  // request has not arrived yet included.
  const std::string address = absl::StrCat("unix:", dir_.File("s"));
  absl::StatusOr<StartedServer> server =
      StartIncrementServer(address, {"--shutdown_grace", "20s"});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<RawConnection> raw =
      RawConnection::Open(address, kCallTimeout);
  ASSERT_TRUE(raw.ok()) << raw.status();
  // HEADERS, then a PING: once its answer is in, the server has read the
  // HEADERS (frames are handled in order), so the call began before the
  // shutdown.
  std::string bytes;
  sockrpc::AppendPreface(&bytes);
  bytes += sockrpc::testing::HeadersFrame(1, kIncrementMethod) +
           sockrpc::testing::RawFrameHeader(
               8, 0, static_cast<uint8_t>(sockrpc::FrameType::kPing), 0) +
           "12345678";
  ASSERT_TRUE(raw->Send(bytes, kCallTimeout).ok());
  ASSERT_TRUE(raw->ReadPreface(kCallTimeout).ok());
  absl::StatusOr<sockrpc::testing::ReceivedFrame> pong =
      raw->ReadFrame(kCallTimeout);
  ASSERT_TRUE(pong.ok()) << pong.status();
  ASSERT_EQ(pong->header.type, static_cast<uint8_t>(sockrpc::FrameType::kPing));

  ASSERT_TRUE(server->process->Signal(SIGTERM).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway =
      sockrpc::testing::ReadGoAway(&*raw, kCallTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->last_stream_id(), 1u);
  // The request comes after the GOAWAY, and the call is still served.
  ASSERT_TRUE(
      raw->Send(sockrpc::testing::IncrementRequestFrame(1, "a"), kCallTimeout)
          .ok());
  std::string character;
  absl::Status outcome =
      sockrpc::testing::ReadCallOutcome(&*raw, 1, kCallTimeout, &character);
  EXPECT_TRUE(outcome.ok()) << outcome << "\n" << server->process->StderrText();
  EXPECT_EQ(character, "b");
  // With nothing left in flight, the server stops well before the grace.
  absl::StatusOr<int> status = server->process->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeWaitStatus(*status);
}

TEST_F(IncrementServerTest,
       SecondServerOnALiveSocketFailsAndTheFirstKeepsServing) {
  const std::string address = absl::StrCat("unix:", dir_.File("live"));
  absl::StatusOr<StartedServer> first = StartIncrementServer(address);
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<std::unique_ptr<ChildProcess>> second = ChildProcess::Start(
      BinaryPath("increment_server"), {"--listen", address});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<int> status = (*second)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0)
      << DescribeWaitStatus(*status);
  EXPECT_TRUE((*second)
                  ->WaitForLine("address already in use by a running server",
                                kProcessTimeout)
                  .ok())
      << (*second)->StderrText();

  EXPECT_TRUE(FileExists(SocketPath(address)));
  ExpectServes(address);
}

TEST_F(IncrementServerTest, StaleSocketFileIsReplacedAndTheServerServes) {
  const std::string path = dir_.File("stale");
  // A socket file nobody listens on: bound, then closed without unlink.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  close(fd);
  ASSERT_TRUE(FileExists(path));

  absl::StatusOr<StartedServer> server =
      StartIncrementServer(absl::StrCat("unix:", path));
  ASSERT_TRUE(server.ok()) << server.status();
  ExpectServes(server->address);
}

TEST_F(IncrementServerTest, RegularFileAtThePathIsLeftAloneAndNotServed) {
  const std::string path = dir_.File("precious.txt");
  {
    std::ofstream out(path);
    out << "not a socket\n";
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> server =
      ChildProcess::Start(BinaryPath("increment_server"),
                          {"--listen", absl::StrCat("unix:", path)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> status = (*server)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0)
      << DescribeWaitStatus(*status);
  ASSERT_TRUE((*server)->WaitForOutputEnd(kProcessTimeout).ok());
  EXPECT_THAT((*server)->StderrText(), HasSubstr(path));
  EXPECT_THAT((*server)->StderrText(), ::testing::Not(HasSubstr("waiting")));
  EXPECT_EQ(ReadFile(path), "not a socket\n");
}

TEST_F(IncrementServerTest, SocketModeFlagSetsTheSocketFileMode) {
  const std::string path = dir_.File("private");
  absl::StatusOr<StartedServer> server = StartIncrementServer(
      absl::StrCat("unix:", path), {"--socket_mode", "0600"});
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
  ExpectServes(server->address);
}

// Graceful shutdown, by each signal the server handles.
class ShutdownSignalTest : public ::testing::TestWithParam<int> {
 protected:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownSignalTest,
                         ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const ::testing::TestParamInfo<int>& info) {
                           switch (info.param) {
                             case SIGTERM:
                               return std::string("Sigterm");
                             case SIGINT:
                               return std::string("Sigint");
                             default:
                               return std::string("Sighup");
                           }
                         });

TEST_P(ShutdownSignalTest, ServerExitsZeroAndRemovesItsSocketFile) {
  const std::string path = dir_.File("s");
  absl::StatusOr<StartedServer> server =
      StartIncrementServer(absl::StrCat("unix:", path));
  ASSERT_TRUE(server.ok()) << server.status();
  ExpectServes(server->address);
  ASSERT_TRUE(FileExists(path));

  ASSERT_TRUE(server->process->Signal(GetParam()).ok());
  absl::StatusOr<int> status = server->process->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeWaitStatus(*status) << "\n"
      << server->process->StderrText();
  // The file goes before the process exits, so no wait is needed here.
  EXPECT_FALSE(FileExists(path));
  EXPECT_TRUE(
      server->process->WaitForLine("server stopped", kProcessTimeout).ok());
}

TEST_P(ShutdownSignalTest,
       ConnectedClientsAreToldGoAwayAndTheirChannelWorksAfterARestart) {
  const std::string address = absl::StrCat("unix:", dir_.File("s"));
  absl::StatusOr<StartedServer> server = StartIncrementServer(address);
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<Channel> channel = MakeChannel(address);
  increment::Increment::Stub stub(channel);
  ASSERT_EQ(Increment(stub, "A").value_or("<error>"), "B");
  // A raw peer that has made one call and stays connected, idle.
  absl::StatusOr<RawConnection> raw =
      RawConnection::Open(address, kCallTimeout);
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::string bytes;
  sockrpc::AppendPreface(&bytes);
  bytes += sockrpc::testing::HeadersFrame(1, kIncrementMethod) +
           sockrpc::testing::IncrementRequestFrame(1, "a");
  ASSERT_TRUE(raw->Send(bytes, kCallTimeout).ok());
  ASSERT_TRUE(raw->ReadPreface(kCallTimeout).ok());
  std::string character;
  ASSERT_TRUE(
      sockrpc::testing::ReadCallOutcome(&*raw, 1, kCallTimeout, &character)
          .ok());

  ASSERT_TRUE(server->process->Signal(GetParam()).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway =
      sockrpc::testing::ReadGoAway(&*raw, kCallTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(goaway->message(), "server shutting down");
  EXPECT_EQ(goaway->last_stream_id(), 1u);
  EXPECT_TRUE(raw->WaitForClose(kCallTimeout).ok());
  absl::StatusOr<int> status = server->process->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeWaitStatus(*status) << "\n"
      << server->process->StderrText();

  absl::StatusOr<StartedServer> restarted = StartIncrementServer(address);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ(Increment(stub, "C").value_or("<error>"), "D");
}

}  // namespace
