// Tests of SCM_RIGHTS descriptor passing (transport/fd_passing.h) between
// the two ends of a real socketpair, and of ReceivedFds's rules, which
// PROTOCOL.md section 16.3 states.
#include "transport/fd_passing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fd_testing.h"
#include "transport/socket.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::Contents;
using ::sockrpc::testing::MemfdHolding;
using ::sockrpc::testing::OpenFdCount;
using ::testing::HasSubstr;

absl::StatusOr<size_t> Send(int fd, absl::string_view bytes,
                            std::vector<int> fds) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  if (fds.empty()) return WriteSome(fd, &iov, 1);
  return WriteSomeWithFds(fd, &iov, 1, fds);
}

struct Received {
  std::string bytes;
  std::vector<Fd> fds;
};

Received ReadOnce(int fd) {
  Received got;
  char buffer[256];
  absl::StatusOr<ssize_t> n =
      ReadSomeWithFds(fd, buffer, sizeof(buffer), &got.fds);
  EXPECT_TRUE(n.ok()) << n.status();
  if (n.ok() && *n > 0) got.bytes.assign(buffer, static_cast<size_t>(*n));
  return got;
}

class FdPassingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ConnectedPair> pair = SocketPair();
    ASSERT_TRUE(pair.ok()) << pair.status();
    sender_ = std::move(pair->first);
    receiver_ = std::move(pair->second);
  }
  Fd sender_;
  Fd receiver_;
};

TEST_F(FdPassingTest, DescriptorsArriveOpenCloseOnExecAndUsable) {
  Fd first = MemfdHolding("first");
  Fd second = MemfdHolding("second");
  absl::StatusOr<size_t> sent =
      Send(sender_.get(), "frame", {first.get(), second.get()});
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 5u);

  Received got = ReadOnce(receiver_.get());
  EXPECT_EQ(got.bytes, "frame");
  ASSERT_EQ(got.fds.size(), 2u);
  EXPECT_EQ(Contents(got.fds[0].get()), "first");
  EXPECT_EQ(Contents(got.fds[1].get()), "second");
  EXPECT_NE(got.fds[0].get(), first.get());
  EXPECT_EQ(::fcntl(got.fds[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(FdPassingTest, NothingLeaksOnEitherSide) {
  const int before = OpenFdCount();
  {
    Fd file = MemfdHolding("x");
    ASSERT_TRUE(Send(sender_.get(), "a", {file.get(), file.get()}).ok());
    Received got = ReadOnce(receiver_.get());
    EXPECT_EQ(got.fds.size(), 2u);  // the same file twice: two descriptors
  }
  EXPECT_EQ(OpenFdCount(), before);
}

// The leak counts leave out pipes, which sanitizer runtimes open for a moment
// while a thread starts: one open when a count was taken and closed by the
// next made a leak check fail (ASan, a server's threads starting).
TEST(OpenFdCountTest, LeavesOutPipes) {
  const int before = OpenFdCount();
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  const Fd read_end(ends[0]);
  const Fd write_end(ends[1]);
  EXPECT_EQ(OpenFdCount(), before);
  const Fd file = MemfdHolding("x");
  EXPECT_EQ(OpenFdCount(), before + 1);
}

TEST_F(FdPassingTest, APlainReadMakesTheKernelCloseTheDescriptors) {
  // A peer that accepts no descriptors reads with recv(): the kernel closes
  // what was passed, so nothing leaks there either.
  const int before = OpenFdCount();
  {
    Fd file = MemfdHolding("x");
    ASSERT_TRUE(Send(sender_.get(), "abc", {file.get()}).ok());
  }
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(receiver_.get(), buffer, sizeof(buffer));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(OpenFdCount(), before);
}

TEST_F(FdPassingTest, OneReadNeverReturnsTwoBatches) {
  Fd one = MemfdHolding("1");
  Fd two = MemfdHolding("2");
  ASSERT_TRUE(Send(sender_.get(), "plain", {}).ok());
  ASSERT_TRUE(Send(sender_.get(), "first", {one.get()}).ok());
  ASSERT_TRUE(Send(sender_.get(), "second", {two.get()}).ok());

  // Bytes before a batch may share its read; bytes after it never do.
  Received got = ReadOnce(receiver_.get());
  EXPECT_EQ(got.bytes, "plainfirst");
  ASSERT_EQ(got.fds.size(), 1u);
  EXPECT_EQ(Contents(got.fds[0].get()), "1");
  got = ReadOnce(receiver_.get());
  EXPECT_EQ(got.bytes, "second");
  ASSERT_EQ(got.fds.size(), 1u);
  EXPECT_EQ(Contents(got.fds[0].get()), "2");
}

TEST_F(FdPassingTest, BadDescriptorsAreRefusedBeforeAnythingIsSent) {
  EXPECT_THAT(std::string(Send(sender_.get(), "a", {9999}).status().message()),
              HasSubstr("not open"));
  std::vector<int> too_many(kMaxFdsPerMessageLimit + 1, sender_.get());
  EXPECT_EQ(Send(sender_.get(), "a", too_many).status().code(),
            absl::StatusCode::kInvalidArgument);
  char byte;
  EXPECT_EQ(::recv(receiver_.get(), &byte, 1, MSG_DONTWAIT), -1);
}

TEST_F(FdPassingTest, AFullSocketSendsNeitherBytesNorDescriptors) {
  std::string block(1 << 16, 'x');
  for (;;) {
    absl::StatusOr<size_t> n = Send(sender_.get(), block, {});
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
  }
  Fd file = MemfdHolding("x");
  absl::StatusOr<size_t> n = Send(sender_.get(), "a", {file.get()});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  size_t fds_seen = 0;
  for (;;) {
    Received got = ReadOnce(receiver_.get());
    fds_seen += got.fds.size();
    if (got.bytes.empty()) break;
  }
  EXPECT_EQ(fds_seen, 0u);
}

std::vector<Fd> Memfds(int count) {
  std::vector<Fd> fds;
  for (int i = 0; i < count; ++i) fds.push_back(MemfdHolding("m"));
  return fds;
}

TEST(ReceivedFdsTest, TheFdsFrameInsideItsReadTakesTheBatch) {
  ReceivedFds received;
  received.Add(100, 200, Memfds(2));
  EXPECT_EQ(received.size(), 2u);
  EXPECT_TRUE(received.CheckNoneLeftBefore(150).ok());
  absl::StatusOr<std::vector<Fd>> taken = received.Take(150, 2);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->size(), 2u);
  EXPECT_TRUE(received.empty());
  EXPECT_TRUE(received.CheckNoneLeftBefore(1000).ok());
}

TEST(ReceivedFdsTest, ACountThatDiffersIsAnError) {
  ReceivedFds received;
  received.Add(0, 50, Memfds(2));
  absl::StatusOr<std::vector<Fd>> taken = received.Take(10, 3);
  EXPECT_THAT(std::string(taken.status().message()),
              HasSubstr("announces 3 descriptors, but 2 came with it"));
}

TEST(ReceivedFdsTest, AnFdsFrameWithoutDescriptorsIsAnError) {
  ReceivedFds received;
  EXPECT_THAT(std::string(received.Take(0, 1).status().message()),
              HasSubstr("none came with it"));
  received.Add(100, 200, Memfds(1));
  // A frame before the batch's read cannot own it.
  EXPECT_THAT(std::string(received.Take(40, 1).status().message()),
              HasSubstr("none came with it"));
}

TEST(ReceivedFdsTest, DescriptorsWithNoFdsFrameAreAnError) {
  ReceivedFds received;
  received.Add(100, 200, Memfds(1));
  EXPECT_TRUE(received.CheckNoneLeftBefore(199).ok());
  EXPECT_THAT(std::string(received.CheckNoneLeftBefore(200).message()),
              HasSubstr("arrived with no FDS frame"));
  // An FDS frame past the batch's read does not own it either.
  EXPECT_THAT(std::string(received.Take(200, 1).status().message()),
              HasSubstr("arrived with no FDS frame"));
}

TEST(ReceivedFdsTest, ClearClosesEverything) {
  const int before = OpenFdCount();
  ReceivedFds received;
  received.Add(0, 10, Memfds(3));
  received.Add(10, 20, Memfds(2));
  EXPECT_EQ(received.size(), 5u);
  received.Clear();
  EXPECT_TRUE(received.empty());
  EXPECT_EQ(OpenFdCount(), before);
}

}  // namespace
}  // namespace sockrpc
