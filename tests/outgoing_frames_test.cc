// Tests of client/outgoing_frames.h over a real socket pair: the preface
// goes first and once, held calls leave before the next write and in
// order, the batching policy's thresholds, and what a full socket does to
// each way of writing.
#include "client/outgoing_frames.h"

#include <poll.h>

#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace sockrpc
