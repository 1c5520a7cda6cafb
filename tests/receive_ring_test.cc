// Tests of transport/receive_ring.h: one wait-and-read through io_uring
// returns what arrives, the peer's close, a wake-up or a time-out, and
// never loses a byte that arrives around a wake-up or a time-out.
#include "transport/receive_ring.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "transport/fd.h"

namespace sockrpc {
namespace {

int OpenDescriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

class ReceiveRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    ours_ = Fd(pair[0]);
    theirs_ = Fd(pair[1]);
    wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    ASSERT_TRUE(wake_.valid());
    ring_ = ReceiveRing::Create(wake_.get());
    if (ring_ == nullptr) {
      GTEST_SKIP() << "io_uring cannot be used here (old kernel, seccomp, "
                      "io_uring_disabled or ThreadSanitizer): the client "
                      "polls instead, as other tests show";
    }
  }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::write(theirs_.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  void Wake() {
    const uint64_t one = 1;
    ASSERT_EQ(::write(wake_.get(), &one, sizeof(one)), 8);
  }
  void DrainWake() {
    uint64_t count;
    ASSERT_EQ(::read(wake_.get(), &count, sizeof(count)), 8);
  }

  Fd ours_, theirs_, wake_;
  std::unique_ptr<ReceiveRing> ring_;
  char space_[64] = {};
};

TEST_F(ReceiveRingTest, ReceivesWhatIsThere) {
  Send("hello");
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::InfiniteFuture());
  EXPECT_EQ(got.bytes, 5);
  EXPECT_EQ(got.error, 0);
  EXPECT_FALSE(got.woken);
  EXPECT_EQ(std::string(space_, 5), "hello");
}

TEST_F(ReceiveRingTest, WaitsForBytesThatComeLater) {
  std::thread sender([this] { Send("later"); });
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::Now() + absl::Seconds(30));
  sender.join();
  ASSERT_EQ(got.bytes, 5);
  EXPECT_EQ(std::string(space_, 5), "later");
}

TEST_F(ReceiveRingTest, ReceivesNoMoreThanTheSpace) {
  Send("0123456789");
  ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_, 4), absl::InfiniteFuture());
  ASSERT_EQ(got.bytes, 4);
  EXPECT_EQ(std::string(space_, 4), "0123");
  got = ring_->Receive(ours_.get(), absl::MakeSpan(space_),
                       absl::InfiniteFuture());
  ASSERT_EQ(got.bytes, 6);
  EXPECT_EQ(std::string(space_, 6), "456789");
}

TEST_F(ReceiveRingTest, PeerCloseReceivesZero) {
  theirs_.reset();
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::InfiniteFuture());
  EXPECT_EQ(got.bytes, 0);
  EXPECT_EQ(got.error, 0);
}

TEST_F(ReceiveRingTest, ShutdownEndsAWaitingReceive) {
  // As ClientConnection::Fail() ends its reader's wait.
  std::thread closer([this] { ::shutdown(ours_.get(), SHUT_RDWR); });
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::Now() + absl::Seconds(30));
  closer.join();
  EXPECT_EQ(got.bytes, 0);
}

TEST_F(ReceiveRingTest, TimesOutWithNothingAndLosesNothingAfter) {
  char timed_out[16];
  std::memset(timed_out, '#', sizeof(timed_out));
  const absl::Time start = absl::Now();
  ReceiveRing::Received got =
      ring_->Receive(ours_.get(), absl::MakeSpan(timed_out),
                     absl::Now() + absl::Milliseconds(20));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  EXPECT_EQ(got.bytes, -1);
  EXPECT_EQ(got.error, 0);
  EXPECT_FALSE(got.woken);
  // The cancelled receive took nothing and writes nothing more: the next
  // one, into other space, gets every byte.
  Send("after");
  got = ring_->Receive(ours_.get(), absl::MakeSpan(space_),
                       absl::InfiniteFuture());
  ASSERT_EQ(got.bytes, 5);
  EXPECT_EQ(std::string(space_, 5), "after");
  EXPECT_EQ(std::string(timed_out, sizeof(timed_out)), std::string(16, '#'));
}

TEST_F(ReceiveRingTest, DeadlineAlreadyPastStillTakesWhatIsThere) {
  Send("ready");
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::Now() - absl::Seconds(1));
  ASSERT_EQ(got.bytes, 5);
  EXPECT_EQ(std::string(space_, 5), "ready");
}

TEST_F(ReceiveRingTest, WakeUpEndsTheWaitAndRearms) {
  for (int round = 0; round < 3; ++round) {
    Wake();
    const ReceiveRing::Received got = ring_->Receive(
        ours_.get(), absl::MakeSpan(space_), absl::Now() + absl::Seconds(30));
    EXPECT_TRUE(got.woken) << "round " << round;
    EXPECT_EQ(got.bytes, -1) << "round " << round;
    DrainWake();
  }
  Send("then");
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::InfiniteFuture());
  EXPECT_FALSE(got.woken);
  ASSERT_EQ(got.bytes, 4);
  EXPECT_EQ(std::string(space_, 4), "then");
}

TEST_F(ReceiveRingTest, WakeUpFromAnotherThreadEndsAWait) {
  std::thread waker([this] { Wake(); });
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::Now() + absl::Seconds(30));
  waker.join();
  EXPECT_TRUE(got.woken);
  EXPECT_EQ(got.bytes, -1);
}

// A request belongs to the thread that submitted it, and that thread's
// exit cancels it: the wake-up poll armed by a reader thread that has
// since exited must not leave the next reader deaf to wake-ups.
TEST_F(ReceiveRingTest, WakeUpReachesAReaderAfterThePreviousReaderExited) {
  std::thread first_reader([this] {
    Send("x");
    char space[8];
    EXPECT_EQ(ring_
                  ->Receive(ours_.get(), absl::MakeSpan(space),
                            absl::InfiniteFuture())
                  .bytes,
              1);
  });
  first_reader.join();
  std::thread waker([this] { Wake(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  ReceiveRing::Received got;
  // A first return may report the exited thread's poll ending (woken
  // with nothing to drain); the wake-up itself must come before the
  // deadline.
  for (int i = 0; i < 2 && !got.woken; ++i) {
    got = ring_->Receive(ours_.get(), absl::MakeSpan(space_), deadline);
  }
  waker.join();
  EXPECT_TRUE(got.woken);
  EXPECT_LT(absl::Now(), deadline);
  EXPECT_EQ(got.bytes, -1);
}

TEST_F(ReceiveRingTest, BytesAndWakeUpTogetherReturnBoth) {
  Send("both");
  Wake();
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::InfiniteFuture());
  ASSERT_EQ(got.bytes, 4);
  EXPECT_EQ(std::string(space_, 4), "both");
  EXPECT_TRUE(got.woken);
}

TEST_F(ReceiveRingTest, ManyRoundTripsKeepEveryByteInOrder) {
  // Bytes that arrive while a receive is being cancelled (wake-ups racing
  // with sends) are returned, never dropped.
  constexpr int kRounds = 2000;
  // The peer's writes block while the socket is full (each one-byte write
  // takes far more buffer than one byte).
  ASSERT_EQ(::fcntl(theirs_.get(), F_SETFL, 0), 0);
  std::thread peer([this] {
    for (int i = 0; i < kRounds; ++i) {
      const char byte = static_cast<char>('a' + i % 26);
      if (::write(theirs_.get(), &byte, 1) != 1) return;
      if (i % 3 == 0) {
        const uint64_t one = 1;
        if (::write(wake_.get(), &one, sizeof(one)) != 8) return;
      }
    }
  });
  // Whatever happens below, the peer is let go and joined.
  absl::Cleanup join = [&] {
    ::shutdown(theirs_.get(), SHUT_RDWR);
    peer.join();
  };
  std::string received;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (received.size() < kRounds && absl::Now() < deadline) {
    const ReceiveRing::Received got =
        ring_->Receive(ours_.get(), absl::MakeSpan(space_), deadline);
    ASSERT_EQ(got.error, 0);
    ASSERT_NE(got.bytes, 0);
    if (got.bytes > 0) received.append(space_, got.bytes);
    if (got.woken) {
      uint64_t count;
      (void)::read(wake_.get(), &count, sizeof(count));
    }
  }
  std::move(join).Invoke();
  ASSERT_EQ(received.size(), static_cast<size_t>(kRounds));
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_EQ(received[i], static_cast<char>('a' + i % 26)) << "byte " << i;
  }
}

TEST_F(ReceiveRingTest, RingsLeaveNoDescriptorBehind) {
  const int before = OpenDescriptors();
  for (int i = 0; i < 50; ++i) {
    std::unique_ptr<ReceiveRing> ring = ReceiveRing::Create(wake_.get());
    ASSERT_NE(ring, nullptr);
    Send("x");
    ASSERT_EQ(ring->Receive(ours_.get(), absl::MakeSpan(space_),
                            absl::InfiniteFuture())
                  .bytes,
              1);
  }
  EXPECT_EQ(OpenDescriptors(), before);
}

TEST_F(ReceiveRingTest, ARingTheKernelRefusesSaysSoAndReadsNothing) {
  // Another file in the ring's descriptor's place: io_uring_enter() fails
  // on it, as it does where a filter allows making rings but not using
  // them. The caller is told the ring failed (not the socket), and the
  // bytes stay in the socket for a read without the ring.
  Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  ASSERT_GE(::dup2(null.get(), ring_->fd()), 0);
  Send("x");
  const ReceiveRing::Received got = ring_->Receive(
      ours_.get(), absl::MakeSpan(space_), absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(got.ring_failed);
  EXPECT_NE(got.error, 0);
  EXPECT_EQ(got.bytes, -1);
  char byte = 0;
  EXPECT_EQ(::read(ours_.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
}

TEST_F(ReceiveRingTest, EnvironmentTurnsItOff) {
  // (This fixture skipped if the environment had it off already.)
  ASSERT_EQ(::setenv("SOCKRPC_IO_URING", "0", 1), 0);
  EXPECT_EQ(ReceiveRing::Create(wake_.get()), nullptr);
  ASSERT_EQ(::setenv("SOCKRPC_IO_URING", "1", 1), 0);
  EXPECT_NE(ReceiveRing::Create(wake_.get()), nullptr);
  ASSERT_EQ(::unsetenv("SOCKRPC_IO_URING"), 0);
}

}  // namespace
}  // namespace sockrpc
