// Tests of transport/direct_syscalls.h: the hot path's system calls made
// without libc's wrappers return what the libc functions would, results
// and errno alike.
#include "transport/direct_syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "transport/fd.h"

namespace sockrpc {
namespace {

class DirectSyscallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    a_ = Fd(pair[0]);
    b_ = Fd(pair[1]);
  }
  Fd a_, b_;
};

TEST_F(DirectSyscallsTest, SendMsgThenRecvMovesTheBytes) {
  char text[] = "hello";
  iovec piece{text, 5};
  msghdr message{};
  message.msg_iov = &piece;
  message.msg_iovlen = 1;
  EXPECT_EQ(direct::SendMsg(a_.get(), &message, MSG_NOSIGNAL), 5);
  char got[16] = {};
  EXPECT_EQ(direct::Recv(b_.get(), got, sizeof(got), 0), 5);
  EXPECT_EQ(std::string(got, 5), "hello");
}

TEST_F(DirectSyscallsTest, EmptySocketSaysEagainAsLibcDoes) {
  char got[4];
  errno = 0;
  EXPECT_EQ(direct::Recv(b_.get(), got, sizeof(got), 0), -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
}

TEST_F(DirectSyscallsTest, ClosedPeerReadsZeroAndSendFailsWithEpipe) {
  b_ = Fd();  // closes it
  char got[4];
  EXPECT_EQ(direct::Recv(a_.get(), got, sizeof(got), 0), 0);
  char text[] = "x";
  iovec piece{text, 1};
  msghdr message{};
  message.msg_iov = &piece;
  message.msg_iovlen = 1;
  errno = 0;
  EXPECT_EQ(direct::SendMsg(a_.get(), &message, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(DirectSyscallsBadFdTest, BadDescriptorIsEbadf) {
  char got[4];
  errno = 0;
  EXPECT_EQ(direct::Recv(-1, got, sizeof(got), 0), -1);
  EXPECT_EQ(errno, EBADF);
  errno = 0;
  epoll_event event;
  EXPECT_EQ(direct::EpollWait(-1, &event, 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(DirectSyscallsTest, PollTimesOutThenSeesData) {
  pollfd entry{b_.get(), POLLIN, 0};
  EXPECT_EQ(direct::Poll(&entry, 1, 0), 0);
  EXPECT_EQ(direct::Poll(&entry, 1, 20), 0);  // a timed wait, nothing came
  ASSERT_EQ(::write(a_.get(), "z", 1), 1);
  entry.revents = 0;
  EXPECT_EQ(direct::Poll(&entry, 1, -1), 1);  // no timeout: data is there
  EXPECT_TRUE(entry.revents & POLLIN);
}

TEST_F(DirectSyscallsTest, EpollWaitReportsTheReadySocket) {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(epoll.get(), 0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.u64 = 7;
  ASSERT_EQ(::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, b_.get(), &interest), 0);
  epoll_event event{};
  EXPECT_EQ(direct::EpollWait(epoll.get(), &event, 1, 0), 0);
  ASSERT_EQ(::write(a_.get(), "z", 1), 1);
  EXPECT_EQ(direct::EpollWait(epoll.get(), &event, 1, -1), 1);
  const uint64_t tag = event.data.u64;  // epoll_event is packed: no reference
  EXPECT_EQ(tag, 7u);
}

}  // namespace
}  // namespace sockrpc
