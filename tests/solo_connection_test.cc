// The server's solo connection (server/server_threads.cc): a lone busy
// connection that the leader reads through its own io_uring instead of
// epoll. A real Server and Channels over a unix socket in one process,
// each test run with io_uring (the solo path) and with SOCKRPC_IO_URING=0
// (epoll only): whatever the path, every call is answered, in order,
// another client is served at once, a client that leaves has its
// connection closed, and a stream whose handler holds the lead goes on.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "tests/interop/interop_common.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/local_server.h"
#include "transport/fd.h"
#include "transport/poller.h"
#include "transport/receive_ring.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReaderWriter;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::InteropService;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::testing::LocalServer;

// More calls than the streak that makes a connection solo (kSoloStreak).
constexpr int kWarmCalls = 40;
constexpr absl::Duration kBound = absl::Seconds(10);

// This process's descriptors whose link starts with `kind` ("socket:",
// "anon_inode:[io_uring]").
int OpenDescriptors(const std::string& kind) {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    char link[256];
    const std::string path = absl::StrCat("/proc/self/fd/", entry->d_name);
    const ssize_t size = ::readlink(path.c_str(), link, sizeof(link) - 1);
    if (size <= 0) continue;
    if (std::string(link, static_cast<size_t>(size)).rfind(kind, 0) == 0) {
      ++count;
    }
  }
  ::closedir(dir);
  return count;
}

// Waits (bounded) until OpenDescriptors(kind) is `count`; returns the last
// figure seen.
int WaitForDescriptors(const std::string& kind, int count) {
  const absl::Time give_up = absl::Now() + kBound;
  int seen = OpenDescriptors(kind);
  while (seen != count && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
    seen = OpenDescriptors(kind);
  }
  return seen;
}

bool RingsWork() {
  absl::StatusOr<sockrpc::Fd> wake = sockrpc::MakeEventFd(false);
  return wake.ok() && sockrpc::ReceiveRing::Create(wake->get()) != nullptr;
}

// GetParam(): whether io_uring is on (else SOCKRPC_IO_URING=0: the server
// never goes solo, and the client polls).
class SoloConnectionTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { Start(sockrpc::ServerOptions()); }

  void Start(sockrpc::ServerOptions options) {
    server_.reset();
    if (GetParam()) {
      ::unsetenv("SOCKRPC_IO_URING");
      if (!RingsWork()) {
        GTEST_SKIP() << "io_uring cannot be used here (old kernel, seccomp, "
                        "io_uring_disabled or ThreadSanitizer): the server "
                        "never goes solo, as the epoll-only runs show";
      }
    } else {
      ::setenv("SOCKRPC_IO_URING", "0", 1);
    }
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    ::unsetenv("SOCKRPC_IO_URING");
  }

  std::shared_ptr<Channel> NewChannel() {
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  // A unary call with a request of `request_size` bytes (the server must
  // see them all, by their fingerprint) whose reply must carry
  // `reply_size`.
  static absl::Status Call(InteropTest::Stub& stub, uint32_t reply_size,
                           uint32_t request_size = 5) {
    ClientContext context;
    context.set_timeout(kBound);
    UnaryRequest request;
    request.set_body(sockrpc::interop::Pattern(request_size, reply_size));
    request.set_reply_size(reply_size);
    absl::StatusOr<UnaryReply> reply = stub.UnaryCall(&context, request);
    if (!reply.ok()) return reply.status();
    if (reply->request_size() != request_size ||
        reply->request_fingerprint() !=
            sockrpc::interop::Fingerprint(request.body())) {
      return absl::InternalError(
          absl::StrCat("the server saw ", reply->request_size(),
                       " bytes of request, not those ", request_size));
    }
    if (reply->body().size() != reply_size) {
      return absl::InternalError(absl::StrCat("reply of ", reply->body().size(),
                                              " bytes, not ", reply_size));
    }
    return absl::OkStatus();
  }

  InteropService service_;
  std::unique_ptr<LocalServer> server_;
};

TEST_P(SoloConnectionTest, ALoneBusyClientIsReadThroughTheLeadersRing) {
  std::shared_ptr<Channel> channel = NewChannel();
  ASSERT_NE(channel, nullptr);
  InteropTest::Stub stub(channel);
  ASSERT_TRUE(Call(stub, 1).ok());  // the client's own ring, if any, is made
  const int rings_before = OpenDescriptors("anon_inode:[io_uring]");
  for (int i = 0; i < kWarmCalls; ++i) {
    absl::Status status = Call(stub, static_cast<uint32_t>(i));
    ASSERT_TRUE(status.ok()) << "call " << i << ": " << status;
  }
  // The leader made its ring for the solo connection (with io_uring on);
  // nothing made one with it off.
  const int rings_after = OpenDescriptors("anon_inode:[io_uring]");
  if (GetParam()) {
    EXPECT_GT(rings_after, rings_before);
  } else {
    EXPECT_EQ(rings_after, 0);
  }
  // Requests and replies larger than one read of the leader's scratch
  // (16 KiB), and calls in flight together (from eight threads), on the
  // solo connection.
  for (uint32_t size :
       {16u * 1024, 16u * 1024 + 1, 100u * 1024, 3u, 1024u * 1024, 7u}) {
    absl::Status status = Call(stub, size, size);
    EXPECT_TRUE(status.ok()) << size << ": " << status;
  }
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (uint32_t t = 0; t < 8; ++t) {
    callers.emplace_back([&stub, &failures, t]() {
      for (uint32_t i = 0; i < 20; ++i) {
        if (!Call(stub, t * 100 + i).ok()) ++failures;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(SoloConnectionTest, AnotherClientIsServedWhileOneIsSolo) {
  std::shared_ptr<Channel> first = NewChannel();
  std::shared_ptr<Channel> second = NewChannel();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  InteropTest::Stub first_stub(first);
  InteropTest::Stub second_stub(second);
  for (int i = 0; i < kWarmCalls; ++i) ASSERT_TRUE(Call(first_stub, 8).ok());
  // The second connection's first call finds the leader in its ring wait;
  // then the two take turns, and then each goes on alone for a while (the
  // solo connection changes hands).
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(Call(second_stub, 5).ok()) << round << " " << i;
      ASSERT_TRUE(Call(first_stub, 6).ok()) << round << " " << i;
    }
    for (int i = 0; i < kWarmCalls; ++i) {
      ASSERT_TRUE(Call(second_stub, 7).ok()) << round << " " << i;
    }
    for (int i = 0; i < kWarmCalls; ++i) {
      ASSERT_TRUE(Call(first_stub, 9).ok()) << round << " " << i;
    }
  }
}

TEST_P(SoloConnectionTest, ASoloClientThatLeavesHasItsConnectionClosed) {
  const int idle_sockets = OpenDescriptors("socket:");
  {
    std::shared_ptr<Channel> channel = NewChannel();
    ASSERT_NE(channel, nullptr);
    InteropTest::Stub stub(channel);
    for (int i = 0; i < kWarmCalls; ++i) ASSERT_TRUE(Call(stub, 4).ok());
    EXPECT_EQ(OpenDescriptors("socket:"), idle_sockets + 2);
  }  // the client's socket closes: the server's end must close too
  EXPECT_EQ(WaitForDescriptors("socket:", idle_sockets), idle_sockets);
  // And the server goes on serving.
  std::shared_ptr<Channel> channel = NewChannel();
  ASSERT_NE(channel, nullptr);
  InteropTest::Stub stub(channel);
  EXPECT_TRUE(Call(stub, 4).ok());
}

TEST_P(SoloConnectionTest, AnIdleSoloConnectionIsClosedByTheIdleTimeout) {
  sockrpc::ServerOptions options;
  options.idle_timeout = absl::Milliseconds(100);
  Start(std::move(options));
  const int idle_sockets = OpenDescriptors("socket:");
  std::shared_ptr<Channel> channel = NewChannel();
  ASSERT_NE(channel, nullptr);
  InteropTest::Stub stub(channel);
  for (int i = 0; i < kWarmCalls; ++i) ASSERT_TRUE(Call(stub, 4).ok());
  // Housekeeping (a timer event, handled by the leader between its solo
  // waits) closes the server's end; the client's stays open until it
  // notices.
  EXPECT_EQ(WaitForDescriptors("socket:", idle_sockets + 1), idle_sockets + 1);
  // The channel connects again for its next call.
  EXPECT_TRUE(Call(stub, 4).ok());
}

TEST_P(SoloConnectionTest, ShutdownEndsTheLeadersWaitForAnIdleSoloConnection) {
  std::shared_ptr<Channel> channel = NewChannel();
  ASSERT_NE(channel, nullptr);
  InteropTest::Stub stub(channel);
  for (int i = 0; i < kWarmCalls; ++i) ASSERT_TRUE(Call(stub, 4).ok());
  // No call in flight: Shutdown() returns once every thread has stopped,
  // the leader's ring wait included (the stop event ends it).
  server_->server().Shutdown(absl::Now() + kBound);
  absl::Status after = Call(stub, 4);
  EXPECT_EQ(after.code(), absl::StatusCode::kUnavailable) << after;
}

TEST_P(SoloConnectionTest, AStreamWhoseHandlerHoldsTheLeadGoesOn) {
  // FullDuplexCall's handler waits in Read() for each request: it holds the
  // thread that read the call, which loses the lead after a tick; the
  // requests that follow are read by the next leader, through its own
  // ring once the connection is solo. Each reply must answer its request.
  std::shared_ptr<Channel> channel = NewChannel();
  ASSERT_NE(channel, nullptr);
  InteropTest::Stub stub(channel);
  for (int stream_number = 0; stream_number < 3; ++stream_number) {
    ClientContext context;
    context.set_timeout(kBound);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        stub.FullDuplexCall(&context);
    for (uint32_t i = 0; i < 60; ++i) {
      DuplexRequest request;
      request.set_reply_size(i);
      ASSERT_TRUE(stream.Write(request)) << i;
      StreamChunk chunk;
      ASSERT_TRUE(stream.Read(&chunk)) << i << ": " << stream.Finish();
      EXPECT_EQ(chunk.body().size(), i);
      // Now and then the client pauses longer than the watchdog's tick,
      // so that the lead moves while the connection is solo.
      if (i % 15 == 14) absl::SleepFor(absl::Milliseconds(30));
    }
    ASSERT_TRUE(stream.WritesDone());
    StreamChunk extra;
    EXPECT_FALSE(stream.Read(&extra));
    EXPECT_TRUE(stream.Finish().ok());
    EXPECT_TRUE(Call(stub, 3).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(RingAndEpoll, SoloConnectionTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Ring" : "EpollOnly";
                         });

}  // namespace
