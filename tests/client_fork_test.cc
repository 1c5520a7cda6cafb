// A Channel used across fork() (client/channel.h, "Using a channel after
// fork()"): a child never shares its parent's connection; it reconnects
// (AfterFork::kReconnect) or fails its calls (kFail), while the parent's
// calls in flight at fork() time end with their own replies. Against a real
// interop_server process over a unix socket. Each child reports through its
// exit code (0: all good; otherwise the number of the failed check, its
// reason on stderr); the parent waits for it with a bound.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_callback.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop_client.sockrpc.pb.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/local_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/socket.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::SleepRequest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::Transport;

// Bounds every call and every wait of these tests.
constexpr absl::Duration kBound = absl::Seconds(10);

// Who made the channel's connections: counted by its connector, in the
// process that calls it (a child counts on from its copy).
struct ConnectLog {
  std::atomic<int> connects{0};
  std::atomic<pid_t> last_pid{0};
};

// Runs `child` in a forked child and returns its wait status, waiting at
// most kBound for it to exit (then kills it). The child reports through its
// exit code and never returns into the test.
absl::StatusOr<int> RunInChild(const std::function<int()>& child) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork");
  if (pid == 0) {
    close(pipe_fds[0]);
    // pipe_fds[1] stays open until the child exits: the parent sees EOF.
    std::fflush(stderr);
    _exit(child());
  }
  close(pipe_fds[1]);
  pollfd watch = {pipe_fds[0], POLLIN, 0};
  const int ready = poll(&watch, 1, absl::ToInt64Milliseconds(kBound));
  close(pipe_fds[0]);
  if (ready <= 0) kill(pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (ready <= 0) return absl::DeadlineExceededError("the child hung");
  return wait_status;
}

// The exit code of a child that failed check `code`, saying why.
int Failed(int code, const std::string& why) {
  std::fprintf(stderr, "child %d: check %d failed: %s\n", getpid(), code,
               why.c_str());
  return code;
}

// A unary call whose reply proves it is the answer to this very request:
// the server reports the size of the body it got.
absl::Status CheckedUnary(InteropTest::Stub& stub, size_t size) {
  ClientContext context;
  context.set_timeout(kBound);
  UnaryRequest request;
  request.set_body(std::string(size, 'x'));
  request.set_reply_size(static_cast<uint32_t>(size % 1000));
  absl::StatusOr<UnaryReply> reply = stub.UnaryCall(&context, request);
  if (!reply.ok()) return reply.status();
  if (reply->request_size() != size || reply->body().size() != size % 1000) {
    return absl::InternalError(absl::StrCat("a reply for another call: size ",
                                            reply->request_size(), " not ",
                                            size));
  }
  return absl::OkStatus();
}

// A callback unary call, awaited with a bound.
absl::Status CallbackUnary(InteropTest::Stub& stub, size_t size) {
  ClientContext context;
  context.set_timeout(kBound);
  UnaryRequest request;
  request.set_body(std::string(size, 'y'));
  UnaryReply reply;
  Mutex mu;
  bool done = false;
  absl::Status status;
  stub.async()->UnaryCall(&context, &request, &reply, [&](absl::Status result) {
    MutexLock lock(&mu);
    status = std::move(result);
    done = true;
  });
  MutexLock lock(&mu);
  if (!mu.AwaitWithDeadline([&] { return done; }, absl::Now() + kBound)) {
    return absl::DeadlineExceededError("the callback never ran");
  }
  if (status.ok() && reply.request_size() != size) {
    return absl::InternalError("a reply for another call");
  }
  return status;
}

// A server-streaming call of `count` replies; checks their order.
absl::Status Download(InteropTest::Stub& stub, int count, int pause_us,
                      std::function<void()> after_first = nullptr) {
  ClientContext context;
  context.set_timeout(kBound);
  DownloadRequest request;
  for (int i = 0; i < count; ++i) request.add_reply_sizes(10 + i);
  request.set_pause_us(pause_us);
  ClientReader<StreamChunk> reader =
      stub.StreamingOutputCall(&context, request);
  StreamChunk chunk;
  int got = 0;
  while (reader.Read(&chunk)) {
    if (chunk.index() != static_cast<uint32_t>(got) ||
        chunk.body().size() != static_cast<size_t>(10 + got)) {
      return absl::InternalError(absl::StrCat("chunk ", got, " is wrong"));
    }
    if (++got == 1 && after_first) after_first();
  }
  absl::Status status = reader.Finish();
  if (status.ok() && got != count) {
    return absl::InternalError(absl::StrCat(got, " chunks, not ", count));
  }
  return status;
}

class ClientForkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<StartedServer> started = testing::StartServerProcess(
        "interop_server",
        {absl::StrCat("--listen=", testing::UniqueListenAddress(
                                       Transport::kUnixPath, dir_))});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }

  // A channel to the server whose connections `log_` counts; `hold` (if
  // set) runs in the connector before it connects.
  std::shared_ptr<Channel> NewChannel(ChannelOptions options = {},
                                      std::function<void()> hold = nullptr) {
    absl::StatusOr<Address> address = ParseAddress(server_.address);
    EXPECT_TRUE(address.ok()) << address.status();
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannelFromConnector(
            server_.address,
            [log = &log_, address = *address, hold](absl::Time deadline) {
              if (hold) hold();
              log->connects.fetch_add(1);
              log->last_pid.store(getpid());
              return Connect(address, deadline);
            },
            options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  TempDir dir_;
  StartedServer server_;
  ConnectLog log_;
};

// The child's calls (blocking, streaming, callback) through the inherited
// channel: they work, over a connection the child made itself.
int ChildCallsOnItsOwnConnection(InteropTest::Stub& stub, ConnectLog& log,
                                 int connects_before) {
  absl::Status status = CheckedUnary(stub, 7777);
  if (!status.ok()) return Failed(10, status.ToString());
  if (log.connects.load() != connects_before + 1 ||
      log.last_pid.load() != getpid()) {
    return Failed(11, "the child did not make a connection of its own");
  }
  status = Download(stub, 5, 0);
  if (!status.ok()) return Failed(12, status.ToString());
  status = CallbackUnary(stub, 4242);
  if (!status.ok()) return Failed(13, status.ToString());
  if (log.connects.load() != connects_before + 1) {
    return Failed(14, "the child connected more than once");
  }
  return 0;
}

TEST_F(ClientForkTest, ChildReconnectsWhileParentCallsInFlightFinish) {
  std::shared_ptr<Channel> channel = NewChannel();
  InteropTest::Stub stub(channel);
  ASSERT_TRUE(CheckedUnary(stub, 1).ok());
  // The callback API's loop runs in the parent, watching the connection.
  ASSERT_TRUE(CallbackUnary(stub, 2).ok());
  ASSERT_EQ(log_.connects.load(), 1);

  Mutex mu;
  bool streaming = false;
  std::vector<std::string> failures;
  auto fail = [&](std::string why) {
    MutexLock lock(&mu);
    failures.push_back(std::move(why));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        absl::Status status = CheckedUnary(stub, 100 * t + i + 3);
        if (!status.ok()) fail(status.ToString());
      }
    });
  }
  threads.emplace_back([&] {
    ClientContext context;
    context.set_timeout(kBound);
    SleepRequest request;
    request.set_sleep_ms(300);
    absl::Status status = stub.SleepCall(&context, request).status();
    if (!status.ok()) fail(status.ToString());
  });
  threads.emplace_back([&] {
    absl::Status status = Download(stub, 20, 20000, [&] {
      MutexLock lock(&mu);
      streaming = true;
    });
    if (!status.ok()) fail(status.ToString());
  });
  // A callback call in flight at fork() time.
  ClientContext callback_context;
  callback_context.set_timeout(kBound);
  SleepRequest callback_request;
  callback_request.set_sleep_ms(300);
  Nothing callback_reply;
  bool callback_done = false;
  absl::Status callback_status;
  stub.async()->SleepCall(&callback_context, &callback_request, &callback_reply,
                          [&](absl::Status status) {
                            MutexLock lock(&mu);
                            callback_status = std::move(status);
                            callback_done = true;
                          });
  {
    MutexLock lock(&mu);
    ASSERT_TRUE(
        mu.AwaitWithDeadline([&] { return streaming; }, absl::Now() + kBound));
  }

  absl::StatusOr<int> child =
      RunInChild([&] { return ChildCallsOnItsOwnConnection(stub, log_, 1); });
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
      << testing::DescribeWaitStatus(*child);

  for (std::thread& thread : threads) thread.join();
  {
    MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithDeadline([&] { return callback_done; },
                                     absl::Now() + kBound));
    EXPECT_TRUE(callback_status.ok()) << callback_status;
    EXPECT_TRUE(failures.empty()) << failures.front();
  }
  // The parent goes on with its own connection.
  EXPECT_TRUE(CheckedUnary(stub, 99).ok());
  EXPECT_TRUE(CallbackUnary(stub, 98).ok());
  EXPECT_EQ(log_.connects.load(), 1);
}

TEST_F(ClientForkTest, ChannelNeverUsedBeforeForkWorksInBoth) {
  std::shared_ptr<Channel> channel = NewChannel();
  InteropTest::Stub stub(channel);
  absl::StatusOr<int> child =
      RunInChild([&] { return ChildCallsOnItsOwnConnection(stub, log_, 0); });
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
      << testing::DescribeWaitStatus(*child);
  EXPECT_TRUE(CheckedUnary(stub, 5).ok());
  EXPECT_TRUE(CallbackUnary(stub, 6).ok());
  EXPECT_EQ(log_.connects.load(), 1);
}

TEST_F(ClientForkTest, AfterForkFailFailsTheChildsCallsAndSaysWhy) {
  ChannelOptions options;
  options.after_fork = AfterFork::kFail;
  std::shared_ptr<Channel> channel = NewChannel(options);
  InteropTest::Stub stub(channel);
  ASSERT_TRUE(CheckedUnary(stub, 1).ok());
  const pid_t parent = getpid();
  absl::StatusOr<int> child = RunInChild([&] {
    const std::string expected =
        absl::StrCat("created in process ", parent,
                     " used after fork() in child ", getpid());
    absl::Status status = CheckedUnary(stub, 2);
    if (!absl::IsFailedPrecondition(status) ||
        !absl::StrContains(status.message(), expected) ||
        !absl::StrContains(status.message(), "AfterFork::kReconnect")) {
      return Failed(20, status.ToString());
    }
    status = CallbackUnary(stub, 3);
    if (!absl::IsFailedPrecondition(status))
      return Failed(21, status.ToString());
    status = Download(stub, 2, 0);
    if (!absl::IsFailedPrecondition(status))
      return Failed(22, status.ToString());
    status = channel->WaitForConnected(absl::Now() + kBound);
    if (!absl::IsFailedPrecondition(status))
      return Failed(23, status.ToString());
    if (log_.connects.load() != 1) return Failed(24, "the child connected");
    return 0;
  });
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
      << testing::DescribeWaitStatus(*child);
  EXPECT_TRUE(CheckedUnary(stub, 4).ok());
  EXPECT_EQ(log_.connects.load(), 1);
}

// fork() while other threads hold the channel's and the connection's locks:
// one keeps making calls, one is inside the connector (holding the
// channel's lock). The child must block on none of them.
TEST_F(ClientForkTest, ForkWhileOtherThreadsHoldTheLocks) {
  const pid_t parent = getpid();
  Mutex mu;
  bool connecting = false;
  bool release = false;
  bool stop = false;
  std::shared_ptr<Channel> held_channel = NewChannel({}, [&] {
    if (getpid() != parent) return;  // the child's connector goes ahead
    MutexLock lock(&mu);
    connecting = true;
    mu.AwaitWithDeadline([&] { return release; }, absl::Now() + kBound);
  });
  InteropTest::Stub held_stub(held_channel);
  std::shared_ptr<Channel> busy_channel = NewChannel();
  InteropTest::Stub busy_stub(busy_channel);
  ASSERT_TRUE(CheckedUnary(busy_stub, 1).ok());

  std::thread connector_thread(
      [&] { EXPECT_TRUE(CheckedUnary(held_stub, 2).ok()); });
  std::vector<std::thread> busy;
  std::atomic<int> busy_failures{0};
  for (int t = 0; t < 2; ++t) {
    busy.emplace_back([&, t] {
      for (size_t i = 0;; ++i) {
        {
          MutexLock lock(&mu);
          if (stop) return;
        }
        if (!CheckedUnary(busy_stub, 10 + t * 1000 + i % 500).ok()) {
          busy_failures.fetch_add(1);
        }
      }
    });
  }
  {
    MutexLock lock(&mu);
    ASSERT_TRUE(
        mu.AwaitWithDeadline([&] { return connecting; }, absl::Now() + kBound));
  }
  for (int round = 0; round < 5; ++round) {
    absl::StatusOr<int> child = RunInChild([&] {
      absl::Status status = CheckedUnary(busy_stub, 3);
      if (!status.ok()) return Failed(30, status.ToString());
      status = CheckedUnary(held_stub, 4);
      if (!status.ok()) return Failed(31, status.ToString());
      return 0;
    });
    ASSERT_TRUE(child.ok()) << child.status();
    EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
        << testing::DescribeWaitStatus(*child);
  }
  {
    MutexLock lock(&mu);
    release = true;
    stop = true;
  }
  connector_thread.join();
  for (std::thread& thread : busy) thread.join();
  EXPECT_EQ(busy_failures.load(), 0);
}

// A call the forking thread began before fork(): in the child it fails
// without touching the parent's connection; in the parent it completes.
TEST_F(ClientForkTest, CallBegunBeforeForkFailsInTheChildOnly) {
  std::shared_ptr<Channel> channel = NewChannel();
  InteropTest::Stub stub(channel);
  ClientContext context;
  context.set_timeout(kBound);
  DownloadRequest request;
  for (int i = 0; i < 3; ++i) request.add_reply_sizes(10 + i);
  request.set_pause_us(100000);
  ClientReader<StreamChunk> reader =
      stub.StreamingOutputCall(&context, request);
  StreamChunk chunk;
  ASSERT_TRUE(reader.Read(&chunk));
  absl::StatusOr<int> child = RunInChild([&] {
    StreamChunk child_chunk;
    if (reader.Read(&child_chunk)) return Failed(40, "read a parent's reply");
    absl::Status status = reader.Finish();
    if (!absl::IsFailedPrecondition(status))
      return Failed(41, status.ToString());
    status = CheckedUnary(stub, 5);
    if (!status.ok()) return Failed(42, status.ToString());
    return 0;
  });
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
      << testing::DescribeWaitStatus(*child);
  int got = 1;
  while (reader.Read(&chunk)) ++got;
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_EQ(got, 3);
}

// Every descriptor a channel makes (socket, eventfds, epoll) is
// close-on-exec: a program the process runs inherits none.
TEST_F(ClientForkTest, ExecdProgramInheritsNoDescriptor) {
  std::shared_ptr<Channel> channel = NewChannel();
  InteropTest::Stub stub(channel);
  ASSERT_TRUE(CheckedUnary(stub, 1).ok());
  ASSERT_TRUE(CallbackUnary(stub, 2).ok());  // starts the loop: epoll
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> ls =
      testing::ChildProcess::Start("/bin/ls", {"-l", "/proc/self/fd"});
  ASSERT_TRUE(ls.ok()) << ls.status();
  ASSERT_TRUE((*ls)->WaitForOutputEnd(kProcessTimeout).ok());
  const std::string listing = (*ls)->StdoutText();
  EXPECT_TRUE(absl::StrContains(listing, "/proc/")) << listing;  // ls's own
  EXPECT_FALSE(absl::StrContains(listing, "socket:")) << listing;
  EXPECT_FALSE(absl::StrContains(listing, "anon_inode:")) << listing;
}

// An in-process channel (Server::ConnectInProcess()) inherited by a child:
// the server is the parent's, so the child's calls fail at once, without
// touching it, and the parent's server goes on serving.
TEST(ClientForkInProcessTest, InProcessChannelFailsInTheChild) {
  interop::InteropService service;
  absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
      testing::LocalServer::Start({&service});
  ASSERT_TRUE(server.ok()) << server.status();
  Server* raw_server = &(*server)->server();
  absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannelFromConnector(
      "in-process",
      [raw_server](absl::Time) { return raw_server->ConnectInProcess(); });
  ASSERT_TRUE(channel.ok()) << channel.status();
  InteropTest::Stub stub(*channel);
  ASSERT_TRUE(CheckedUnary(stub, 1).ok());
  absl::StatusOr<int> child = RunInChild([&] {
    absl::Status status = CheckedUnary(stub, 2);
    if (!absl::IsUnavailable(status) ||
        !absl::StrContains(status.message(), "child made by fork()")) {
      return Failed(50, status.ToString());
    }
    return 0;
  });
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(WIFEXITED(*child) && WEXITSTATUS(*child) == 0)
      << testing::DescribeWaitStatus(*child);
  EXPECT_TRUE(CheckedUnary(stub, 3).ok());
}

}  // namespace
}  // namespace sockrpc
