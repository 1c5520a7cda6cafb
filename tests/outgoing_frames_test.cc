// Tests of client/outgoing_frames.h over a real socket pair: the preface
// goes first and once, held calls leave before the next write and in
// order, the batching policy's thresholds, and what a full socket does to
// each way of writing.
#include "client/outgoing_frames.h"

#include <fcntl.h>
#include <poll.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/fd_testing.h"
#include "transport/fd_passing.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);

std::string Preface() {
  std::string preface;
  AppendPreface(&preface);
  return preface;
}

// Reads exactly `size` bytes from `fd` (waiting for them), or fails.
std::string ReadExactly(int fd, size_t size) {
  std::string got(size, '\0');
  size_t have = 0;
  const absl::Time deadline = absl::Now() + kTimeout;
  while (have < size) {
    if (!WaitFor(fd, POLLIN, deadline).ok()) break;
    absl::StatusOr<ssize_t> n = ReadSome(fd, &got[have], size - have);
    if (!n.ok() || *n == 0) break;
    if (*n > 0) have += static_cast<size_t>(*n);
  }
  got.resize(have);
  return got;
}

// True if `fd` has nothing to read now.
bool NothingToRead(int fd) {
  char byte;
  absl::StatusOr<ssize_t> n = ReadSome(fd, &byte, 1);
  return n.ok() && *n == -1;
}

class OutgoingFramesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ConnectedPair> pair = SocketPair();
    ASSERT_TRUE(pair.ok()) << pair.status();
    pair_ = *std::move(pair);
  }
  int writer() const { return pair_.first.get(); }
  int peer() const { return pair_.second.get(); }

  // Writes without waiting until the socket takes no more; returns what
  // was written.
  std::string FillSocket(OutgoingFrames& out) {
    std::string all;
    const std::string chunk(64 * 1024, 'f');
    for (int i = 0; i < 1000 && !out.has_held(); ++i) {
      size_t written = 0;
      EXPECT_TRUE(out.WriteNoWait(chunk, &written).ok());
      all += chunk;  // written or held: either way it goes out in order
    }
    EXPECT_TRUE(out.has_held()) << "the socket never filled up";
    return all;
  }

  ConnectedPair pair_;
};

TEST_F(OutgoingFramesTest, PrefaceGoesFirstAndOnce) {
  OutgoingFrames out(writer(), /*batch_call_starts=*/false,
                     /*unix_socket=*/true);
  EXPECT_FALSE(out.preface_sent());
  size_t written = 0;
  ASSERT_TRUE(out.WriteAll("abc", absl::InfiniteFuture(), &written).ok());
  EXPECT_EQ(written, 3u);
  EXPECT_TRUE(out.preface_sent());
  written = 0;
  ASSERT_TRUE(out.WriteAll("de", absl::InfiniteFuture(), &written).ok());
  EXPECT_EQ(ReadExactly(peer(), Preface().size() + 5), Preface() + "abcde");
  EXPECT_TRUE(NothingToRead(peer()));
}

TEST_F(OutgoingFramesTest, StreamIdsRiseFromOne) {
  OutgoingFrames out(writer(), false, true);
  EXPECT_EQ(out.TakeStreamId(), 1u);
  EXPECT_EQ(out.TakeStreamId(), 2u);
  EXPECT_FALSE(out.stream_ids_used_up());
}

TEST_F(OutgoingFramesTest, HeldCallsLeaveWithTheNextWriteInOrder) {
  OutgoingFrames out(writer(), /*batch_call_starts=*/true,
                     /*unix_socket=*/true);
  ASSERT_TRUE(out.DecideToHold(/*others=*/8, /*size=*/5));
  EXPECT_TRUE(out.has_held());  // at once, before the frames are held
  out.HoldCall("call1");
  ASSERT_TRUE(out.DecideToHold(9, 5));
  out.HoldCall("call2");
  EXPECT_TRUE(NothingToRead(peer()));  // held, not written
  size_t written = 0;
  ASSERT_TRUE(out.WriteAll("call3", absl::InfiniteFuture(), &written).ok());
  EXPECT_EQ(written, 5u);
  EXPECT_FALSE(out.has_held());
  EXPECT_TRUE(out.held_empty());
  EXPECT_EQ(ReadExactly(peer(), Preface().size() + 15),
            Preface() + "call1call2call3");
}

TEST_F(OutgoingFramesTest, PolicyHoldsOnlyWhileTheServerHasEnoughToAnswer) {
  OutgoingFrames unix_out(writer(), /*batch_call_starts=*/true,
                          /*unix_socket=*/true);
  EXPECT_FALSE(unix_out.DecideToHold(3, 10));  // too few unanswered
  EXPECT_FALSE(unix_out.has_held());
  ASSERT_TRUE(unix_out.DecideToHold(4, 10));
  unix_out.HoldCall("0123456789");
  // One held of 4 others: 3 unanswered, too few now.
  EXPECT_FALSE(unix_out.DecideToHold(4, 10));
  // Twice as many unanswered as held, at least.
  EXPECT_TRUE(unix_out.DecideToHold(5, 10));
  // Held bytes are bounded.
  EXPECT_FALSE(unix_out.DecideToHold(100, 16 * 1024));

  OutgoingFrames tcp_out(writer(), true, /*unix_socket=*/false);
  EXPECT_FALSE(tcp_out.DecideToHold(1, 10));
  EXPECT_TRUE(tcp_out.DecideToHold(2, 10));

  OutgoingFrames no_batching(writer(), /*batch_call_starts=*/false, true);
  EXPECT_FALSE(no_batching.DecideToHold(1000, 10));
  EXPECT_FALSE(no_batching.has_held());
}

TEST_F(OutgoingFramesTest, WriteNoWaitHoldsWhatAFullSocketRefusesInOrder) {
  OutgoingFrames out(writer(), false, true);
  std::string expected = Preface() + FillSocket(out);
  size_t written = 1;
  ASSERT_TRUE(out.WriteNoWait("tail", &written).ok());
  EXPECT_EQ(written, 0u);  // behind what is held, never ahead of it
  expected += "tail";
  std::string got;
  std::thread reader([&] { got = ReadExactly(peer(), expected.size()); });
  const absl::Time deadline = absl::Now() + kTimeout;
  while (!out.held_empty() && absl::Now() < deadline) {
    ASSERT_TRUE(WaitFor(writer(), POLLOUT, deadline).ok());
    ASSERT_TRUE(out.WriteNoWait("", &written).ok());
  }
  reader.join();
  EXPECT_FALSE(out.has_held());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "bytes arrived out of order";
}

TEST_F(OutgoingFramesTest, WriteAllOutOfTimeKeepsTheHeldBytesForLater) {
  OutgoingFrames out(writer(), false, true);
  std::string expected = Preface() + FillSocket(out);
  size_t written = 0;
  absl::Status status =
      out.WriteAll("lost", absl::Now() + absl::Milliseconds(20), &written);
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(written, 0u);
  EXPECT_TRUE(out.has_held());
  // Nobody read meanwhile; now a reader drains and the next write sends
  // the held bytes first, then its own.
  expected += "last";
  std::string got;
  std::thread reader([&] { got = ReadExactly(peer(), expected.size()); });
  written = 0;
  ASSERT_TRUE(out.WriteAll("last", absl::Now() + kTimeout, &written).ok());
  reader.join();
  EXPECT_EQ(written, 4u);
  EXPECT_FALSE(out.has_held());
  EXPECT_TRUE(got == expected) << "bytes arrived out of order";
}

TEST_F(OutgoingFramesTest, WriteErrorKeepsNothing) {
  OutgoingFrames out(writer(), true, true);
  ASSERT_TRUE(out.DecideToHold(8, 5));
  out.HoldCall("call1");
  pair_.second = Fd();  // the peer is gone
  size_t written = 0;
  absl::Status status = out.WriteAll("x", absl::Now() + kTimeout, &written);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(out.held_empty());
  EXPECT_FALSE(out.has_held());
}

// Reads `size` bytes with recvmsg(), noting at which byte offset each read
// that brought descriptors began and ended, and how many it brought.
struct ReadWithFds {
  std::string bytes;
  struct Batch {
    size_t begin;
    size_t end;
    std::vector<Fd> fds;
  };
  std::vector<Batch> batches;
};
ReadWithFds ReadExactlyWithFds(int fd, size_t size) {
  ReadWithFds got;
  got.bytes.resize(size);
  size_t have = 0;
  const absl::Time deadline = absl::Now() + kTimeout;
  while (have < size) {
    if (!WaitFor(fd, POLLIN, deadline).ok()) break;
    std::vector<Fd> fds;
    absl::StatusOr<ssize_t> n =
        ReadSomeWithFds(fd, &got.bytes[have], size - have, &fds);
    if (!n.ok() || *n == 0) break;
    if (*n < 0) continue;
    if (!fds.empty()) {
      got.batches.push_back(
          {have, have + static_cast<size_t>(*n), std::move(fds)});
    }
    have += static_cast<size_t>(*n);
  }
  got.bytes.resize(have);
  return got;
}

std::vector<Fd> DevNulls(int count) {
  std::vector<Fd> fds;
  for (int i = 0; i < count; ++i) {
    fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  return fds;
}

TEST_F(OutgoingFramesTest, DescriptorsOnAnIdleSocketGoAtTheirOffset) {
  const int open_before = testing::OpenFdCount();
  {
    OutgoingFrames out(writer(), false, true);
    size_t written = 0;
    // "HEAD" stands for the frames before the FDS frame, "FDSMSG" for it.
    ASSERT_TRUE(
        out.WriteNoWaitWithFds("HEADFDSMSG", 4, DevNulls(2), &written).ok());
    EXPECT_EQ(written, 10u);
    EXPECT_FALSE(out.has_held());
    const std::string expected = Preface() + "HEADFDSMSG";
    ReadWithFds got = ReadExactlyWithFds(peer(), expected.size());
    EXPECT_EQ(got.bytes, expected);
    ASSERT_EQ(got.batches.size(), 1u);
    // The read with the descriptors contains the FDS frame's first byte.
    const size_t fds_at = Preface().size() + 4;
    EXPECT_LE(got.batches[0].begin, fds_at);
    EXPECT_GT(got.batches[0].end, fds_at);
    EXPECT_EQ(got.batches[0].fds.size(), 2u);
  }
  EXPECT_EQ(testing::OpenFdCount(), open_before);
}

TEST_F(OutgoingFramesTest, DescriptorsHeldByAFullSocketLeaveWithTheirFrame) {
  const int open_before = testing::OpenFdCount();
  {
    OutgoingFrames out(writer(), false, true);
    std::string expected = Preface() + FillSocket(out);
    size_t written = 1;
    // Two messages with descriptors, and plain bytes between and after,
    // all behind the held bytes.
    ASSERT_TRUE(
        out.WriteNoWaitWithFds("h1F1M1", 2, DevNulls(1), &written).ok());
    EXPECT_EQ(written, 0u);
    ASSERT_TRUE(out.WriteNoWait("plain", &written).ok());
    ASSERT_TRUE(
        out.WriteNoWaitWithFds("h2F2M2", 2, DevNulls(3), &written).ok());
    const size_t first_fds = expected.size() + 2;
    const size_t second_fds = expected.size() + 6 + 5 + 2;
    expected += "h1F1M1plainh2F2M2";
    ReadWithFds got;
    std::thread reader(
        [&] { got = ReadExactlyWithFds(peer(), expected.size() + 4); });
    // The loop's flushes, then a blocking write behind them.
    const absl::Time deadline = absl::Now() + kTimeout;
    for (int i = 0; i < 3 && !out.held_empty(); ++i) {
      ASSERT_TRUE(WaitFor(writer(), POLLOUT, deadline).ok());
      ASSERT_TRUE(out.WriteNoWait("", &written).ok());
    }
    ASSERT_TRUE(out.WriteAll("tail", deadline, &written).ok());
    EXPECT_EQ(written, 4u);
    expected += "tail";
    reader.join();
    EXPECT_FALSE(out.has_held());
    EXPECT_TRUE(got.bytes == expected) << "bytes arrived out of order";
    ASSERT_EQ(got.batches.size(), 2u);
    EXPECT_LE(got.batches[0].begin, first_fds);
    EXPECT_GT(got.batches[0].end, first_fds);
    EXPECT_EQ(got.batches[0].fds.size(), 1u);
    EXPECT_LE(got.batches[1].begin, second_fds);
    EXPECT_GT(got.batches[1].end, second_fds);
    EXPECT_EQ(got.batches[1].fds.size(), 3u);
    // One FDS frame per read: the second batch's read began after the
    // first's FDS frame.
    EXPECT_GT(got.batches[1].begin, first_fds);
  }
  EXPECT_EQ(testing::OpenFdCount(), open_before);
}

TEST_F(OutgoingFramesTest, HeldDescriptorsCloseOnAWriteError) {
  const int open_before = testing::OpenFdCount();
  {
    OutgoingFrames out(writer(), false, true);
    FillSocket(out);
    size_t written = 0;
    ASSERT_TRUE(out.WriteNoWaitWithFds("hF", 1, DevNulls(2), &written).ok());
    EXPECT_GT(testing::OpenFdCount(), open_before);  // held
    pair_.second = Fd();  // the peer is gone (one descriptor fewer)
    EXPECT_FALSE(out.WriteNoWait("", &written).ok());
    EXPECT_TRUE(out.held_empty());
    EXPECT_EQ(testing::OpenFdCount(), open_before - 1);
  }
}

}  // namespace
}  // namespace sockrpc
