// Attacks found by an adversarial campaign against the real binaries, each
// of which once worked (issue "Reliability under attack"): one peer that
// wedges the server by filling its handler threads and leaving, and a TCP
// client that connects to itself. The limits and faults the campaign also
// hit (log floods, descriptor exhaustion, connection churn) are tested
// beside their siblings in limits_test.cc and fault_test.cc.
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/child_process.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::kStreamingInputMethod;
using ::sockrpc::testing::OpenSockets;
using ::sockrpc::testing::Preface;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::WaitForOpenSockets;
using ::testing::HasSubstr;

// One peer opens more blocking calls than the server has handler threads
// (interop_server's default max_threads is 256), sends one chunk on each,
// never finishes them, and disconnects. Run against the callback API and,
// as blocking_server/..., the blocking one: with a thread per call and all
// of them in handlers, nobody read the socket, the disconnect went
// unnoticed and no other client was served (for 14 minutes, once).
TEST(WedgeTest, PeerThatFillsTheHandlersAndLeavesWedgesNothing) {
  TempDir dir;
  absl::StatusOr<StartedServer> server =
      StartServerBinary("interop_server", absl::StrCat("unix:", dir.File("s")));
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> idle_sockets = OpenSockets(server->process->pid());
  ASSERT_TRUE(idle_sockets.ok()) << idle_sockets.status();

  constexpr uint32_t kCalls = 300;
  {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(server->address, kIoTimeout);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE(raw->Send(Preface(), kIoTimeout).ok());
    ASSERT_TRUE(raw->ReadPreface(kIoTimeout).ok());
    sockrpc::interop::UploadChunk chunk;
    chunk.set_body("one chunk, and no end");
    // One call after another, as a client opening streams would: each is
    // read (and its handler started, or queued for a thread) before the
    // next is sent.
    for (uint32_t i = 0; i < kCalls; ++i) {
      const uint32_t stream_id = 2 * i + 1;
      std::string bytes = HeadersFrame(stream_id, kStreamingInputMethod);
      ASSERT_TRUE(sockrpc::AppendMessageFrame(
                      &bytes, sockrpc::FrameType::kMessage, /*flags=*/0,
                      stream_id, chunk, sockrpc::kDefaultMaxFrameSize)
                      .ok());
      ASSERT_TRUE(raw->Send(bytes, kIoTimeout).ok());
      ASSERT_TRUE(raw->WaitUntilPeerReadAll(kIoTimeout).ok())
          << "call " << i << " was never read";
    }
  }  // the peer leaves

  // The server sees the disconnect: the connection's socket goes.
  EXPECT_TRUE(
      WaitForOpenSockets(server->process->pid(), *idle_sockets, kIoTimeout)
          .ok());
  // And serves another client at once.
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(server->address);
  ASSERT_TRUE(channel.ok()) << channel.status();
  sockrpc::interop::InteropTest::Stub stub(*channel);
  sockrpc::ClientContext context;
  context.set_timeout(kIoTimeout);
  EXPECT_TRUE(
      stub.EmptyCall(&context, sockrpc::interop::Nothing()).status().ok());
}

// With nothing listening on a loopback port that the kernel may also give
// a client as its own local port, the client's connect() can meet itself
// (a TCP simultaneous open) and succeed. A network namespace made for the
// test, whose ephemeral port range is that one port, makes it happen every
// time. The client must report the connection refused, not take its own
// request for the reply nor wait out its deadline.
TEST(SelfConnectTest, ClientConnectedToItselfReportsNothingListening) {
  constexpr char kPort[] = "40000";
  absl::StatusOr<std::unique_ptr<ChildProcess>> client = ChildProcess::Start(
      BinaryPath("run_in_new_netns"),
      {"--local_ports", absl::StrCat(kPort, "-", kPort), "--",
       BinaryPath("increment_client"), "--target",
       absl::StrCat("ipv4:127.0.0.1:", kPort), "--deadline", "60s"});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<int> status = (*client)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status() << "\n"
                           << (*client)->StderrText();
  ASSERT_TRUE((*client)->WaitForOutputEnd(kProcessTimeout).ok());
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 77) {
    GTEST_SKIP() << (*client)->StderrText();
  }
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1)
      << DescribeWaitStatus(*status) << "\n"
      << (*client)->StdoutText() << (*client)->StderrText();
  EXPECT_THAT((*client)->StderrText(), HasSubstr("UNAVAILABLE"));
  EXPECT_THAT((*client)->StderrText(),
              HasSubstr("the connection reached its own socket"));
  EXPECT_EQ((*client)->StdoutText(), "");
}

}  // namespace
