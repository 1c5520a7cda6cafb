// Tests of transport/socket.h's connections over real sockets: Connect's
// errors and timeouts, Accept (nothing queued, descriptor flags, no
// descriptors left), and ReadSome, WriteSome and WaitFor on non-blocking
// sockets. Socket files live in a per-test temporary directory; TCP is on
// loopback with ephemeral ports. Every wait has a deadline. Binding, and
// what a Listener does with socket files, is tested in
// socket_listener_test.cc.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/socket_testing.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/socket.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::AcceptOne;
using ::sockrpc::testing::Deadline;
using ::sockrpc::testing::ExpectRoundTrip;
using ::sockrpc::testing::MakeStaleSocket;
using ::sockrpc::testing::MustParse;
using ::sockrpc::testing::Pair;
using ::sockrpc::testing::ReadExactly;
using ::sockrpc::testing::SocketTest;
using ::sockrpc::testing::WriteAll;
using ::testing::HasSubstr;

TEST_F(SocketTest, ConnectToMissingPathIsUnavailableNamingTheAddress) {
  const std::string path = PathFor("missing.sock");
  absl::StatusOr<Fd> fd = Connect(MustParse("unix:" + path), Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fd.status().message(), "failed to connect to unix:" + path +
                                       ": No such file or directory");
}

TEST_F(SocketTest, ConnectToStaleSocketIsUnavailable) {
  const std::string path = PathFor("stale.sock");
  MakeStaleSocket(path);
  absl::StatusOr<Fd> fd = Connect(MustParse("unix:" + path), Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fd.status().message(), HasSubstr("Connection refused"));
}

TEST_F(SocketTest, ConnectToARegularFileSaysItIsNotASocket) {
  const std::string path = PathFor("plain.txt");
  Fd file(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  absl::StatusOr<Fd> fd = Connect(MustParse("unix:" + path), Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fd.status().message(),
            "failed to connect to unix:" + path + ": " + path +
                " is not a socket (a file): no server listens there");
}

TEST_F(SocketTest, ConnectToClosedTcpPortIsUnavailable) {
  Address address;
  {
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse("ipv4:127.0.0.1:0"));
    ASSERT_TRUE(listener.ok()) << listener.status();
    address = listener->address();
  }
  absl::StatusOr<Fd> fd = Connect(address, Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fd.status().message(),
              HasSubstr("failed to connect to " + address.ToString()));
}

TEST_F(SocketTest, ConnectWhileAcceptQueueIsFullTimesOut) {
  ListenOptions options;
  options.backlog = 0;  // the kernel still queues a connection or so
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("full.sock")), options);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::vector<Fd> queued;
  absl::Status last;
  for (int i = 0; i < 16 && last.ok(); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Fd> fd =
        Connect(listener->address(), start + absl::Milliseconds(100));
    if (fd.ok()) {
      queued.push_back(*std::move(fd));
    } else {
      last = fd.status();
      EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kDeadlineExceeded) << last;
  EXPECT_THAT(last.message(), HasSubstr(listener->address().ToString()));
}

// A cancel descriptor that is readable ends the wait for a server that
// does not answer: CANCELLED, long before the deadline.
TEST_F(SocketTest, ConnectEndsCancelledOnceTheCancelFdIsReadable) {
  Fd cancel(::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK));  // readable already
  ASSERT_TRUE(cancel.valid());
  ListenOptions options;
  options.backlog = 0;
  // A unix server whose accept queue is full (Connect() naps and retries)
  // and a TCP one (the kernel drops the SYNs: connect() is in progress).
  for (const std::string target :
       {"unix:" + PathFor("full.sock"), std::string("127.0.0.1:0")}) {
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse(target), options);
    ASSERT_TRUE(listener.ok()) << listener.status();
    // Full: until a connection is not made within 100 ms.
    std::vector<Fd> queued;
    for (int i = 0; i < 16; ++i) {
      absl::StatusOr<Fd> fd =
          Connect(listener->address(), absl::Now() + absl::Milliseconds(100));
      if (!fd.ok()) break;
      queued.push_back(*std::move(fd));
    }
    absl::StatusOr<Fd> fd = Connect(listener->address(), Deadline(),
                                    /*cancel_fd=*/cancel.get());
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kCancelled)
        << target << fd.status();
    EXPECT_THAT(fd.status().message(), HasSubstr("cancelled")) << target;
  }
}

TEST_F(SocketTest, AcceptWithNothingQueuedReturnsInvalidFd) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("a.sock")));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> fd = listener->Accept();
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_FALSE(fd->valid());
}

TEST_F(SocketTest, AcceptedAndConnectedSocketsAreNonBlockingAndCloseOnExec) {
  Pair pair = MakePair();
  for (int fd : {pair.client.get(), pair.server.get()}) {
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  }
}

TEST_F(SocketTest, AcceptOutOfDescriptorsShedsTheWaitingConnection) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("emfile.sock")));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> client = Connect(listener->address(), Deadline());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor(listener->fd(), POLLIN, Deadline()).ok());

  // Use up every descriptor under a lowered limit.
  rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit lowered = saved;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<Fd> filler;
  for (int i = 0; i < 256; ++i) {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) break;
    filler.push_back(std::move(fd));
  }
  absl::StatusOr<Fd> accepted = listener->Accept();
  filler.clear();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_EQ(accepted.status().code(), absl::StatusCode::kResourceExhausted);
  // The connection was taken off the queue and closed: the listener is
  // no longer readable and the client sees the end of the stream.
  absl::StatusOr<Fd> next = listener->Accept();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->valid());
  ASSERT_TRUE(WaitFor(client->get(), POLLIN, Deadline()).ok());
  char byte;
  absl::StatusOr<ssize_t> n = ReadSome(client->get(), &byte, 1);
  EXPECT_TRUE(!n.ok() || *n == 0);
  // And the listener still works.
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, ReadSomeReturnsMinusOneWhenNothingIsWaiting) {
  Pair pair = MakePair();
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(pair.server.get(), buffer, 16);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, -1);
}

TEST_F(SocketTest, ReadSomeReturnsZeroWhenPeerCloses) {
  Pair pair = MakePair();
  WriteAll(pair.client.get(), "last words");
  pair.client.reset();
  EXPECT_EQ(ReadExactly(pair.server.get(), 10), "last words");
  ASSERT_TRUE(WaitFor(pair.server.get(), POLLIN, Deadline()).ok());
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(pair.server.get(), buffer, 16);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0);
}

TEST_F(SocketTest, ReadSomeOnResetConnectionIsUnavailable) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("ipv4:127.0.0.1:0"));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> client = Connect(listener->address(), Deadline());
  ASSERT_TRUE(client.ok()) << client.status();
  Fd server = AcceptOne(*listener);
  // SO_LINGER with a zero timeout makes close() send a reset.
  linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(client->get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof(abort_on_close)),
            0);
  client->reset();
  ASSERT_TRUE(WaitFor(server.get(), POLLIN, Deadline()).ok());
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(server.get(), buffer, 16);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(n.status().message(), HasSubstr("reset"));
}

TEST_F(SocketTest, WriteSomeToClosedPeerIsUnavailableNotSigpipe) {
  Pair pair = MakePair();
  pair.server.reset();
  // A unix socket reports EPIPE on the first write after the peer closed;
  // without MSG_NOSIGNAL that write would kill this process.
  absl::StatusOr<size_t> n;
  const char data[] = "hello";
  iovec iov{const_cast<char*>(data), sizeof(data)};
  for (int i = 0; i < 8; ++i) {
    n = WriteSome(pair.client.get(), &iov, 1);
    if (!n.ok()) break;
  }
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(n.status().message(), HasSubstr("Broken pipe"));
}

TEST_F(SocketTest, WriteSomeGathersAllPieces) {
  Pair pair = MakePair();
  std::string a = "head:", b = "body:", c = "tail";
  iovec iov[3] = {
      {a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  absl::StatusOr<size_t> n = WriteSome(pair.client.get(), iov, 3);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 14u);
  EXPECT_EQ(ReadExactly(pair.server.get(), 14), "head:body:tail");
}

TEST_F(SocketTest, WriteSomeReturnsZeroWhenTheSocketBufferIsFull) {
  Pair pair = MakePair();
  std::string chunk(64 * 1024, 'x');
  iovec iov{chunk.data(), chunk.size()};
  size_t total = 0;
  bool full = false;
  for (int i = 0; i < 4096 && !full; ++i) {  // at most 256 MiB
    absl::StatusOr<size_t> n = WriteSome(pair.client.get(), &iov, 1);
    ASSERT_TRUE(n.ok()) << n.status();
    full = *n == 0;
    total += *n;
  }
  EXPECT_TRUE(full);
  EXPECT_GT(total, 0u);
  // Not writable now: waiting for POLLOUT times out.
  EXPECT_EQ(
      WaitFor(pair.client.get(), POLLOUT, absl::Now() + absl::Milliseconds(20))
          .code(),
      absl::StatusCode::kDeadlineExceeded);
}

TEST_F(SocketTest, WaitForTimesOutWithDeadlineExceeded) {
  Pair pair = MakePair();
  const absl::Time start = absl::Now();
  absl::Status status =
      WaitFor(pair.server.get(), POLLIN, start + absl::Milliseconds(50));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(SocketTest, WaitForWithPastDeadlineReturnsAtOnce) {
  Pair pair = MakePair();
  EXPECT_EQ(WaitFor(pair.server.get(), POLLIN, absl::InfinitePast()).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(SocketTest, WaitForReturnsWhenDataIsWaiting) {
  Pair pair = MakePair();
  WriteAll(pair.client.get(), "x");
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLIN, absl::InfiniteFuture()).ok());
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLOUT, Deadline()).ok());
}

TEST_F(SocketTest, WaitForReportsPeerCloseAsReady) {
  Pair pair = MakePair();
  pair.client.reset();
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLIN, absl::InfiniteFuture()).ok());
}

}  // namespace
}  // namespace sockrpc
