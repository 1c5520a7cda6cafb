// Tests of client/incoming_frames.h over a real socket pair: the server's
// preface checked first, frames cut from reads of any size, and each way a
// read can end.
#include "client/incoming_frames.h"

#include <sys/uio.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "transport/frame.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

using ReadResult = IncomingFrames::ReadResult;

class IncomingFramesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ConnectedPair> pair = SocketPair();
    ASSERT_TRUE(pair.ok()) << pair.status();
    pair_ = *std::move(pair);
  }
  // What the server sends.
  void Send(const std::string& bytes) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    absl::StatusOr<size_t> n = WriteSome(pair_.second.get(), &iov, 1);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ(*n, bytes.size());
  }
  static std::string Preface() {
    std::string preface;
    AppendPreface(&preface);
    return preface;
  }
  static std::string WindowUpdate(uint32_t stream_id, uint32_t increment) {
    std::string frame;
    AppendWindowUpdateFrame(&frame, stream_id, increment);
    return frame;
  }

  ConnectedPair pair_;
};

TEST_F(IncomingFramesTest, PrefaceFirstThenFramesEvenWhenSplitAcrossReads) {
  IncomingFrames in(pair_.first.get(), "unix:/s", kDefaultMaxFrameSize,
                    nullptr);
  char scratch[64];
  absl::Status error;
  EXPECT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error),
            ReadResult::kDrained);  // nothing sent yet

  const std::string frames = WindowUpdate(1, 100) + WindowUpdate(3, 200);
  const std::string all = Preface() + frames;
  // The bytes arrive in two pieces, the cut inside the first frame.
  const size_t cut = Preface().size() + 3;
  Send(all.substr(0, cut));
  EXPECT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kShort);
  FrameReader::Frame frame;
  EXPECT_EQ(in.Next(&frame, &error), FrameReader::Result::kNeedMore);
  Send(all.substr(cut));
  EXPECT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kShort);
  ASSERT_EQ(in.Next(&frame, &error), FrameReader::Result::kFrame) << error;
  EXPECT_EQ(frame.header.type, static_cast<uint8_t>(FrameType::kWindowUpdate));
  EXPECT_EQ(frame.header.stream_id, 1u);
  ASSERT_EQ(in.Next(&frame, &error), FrameReader::Result::kFrame) << error;
  EXPECT_EQ(frame.header.stream_id, 3u);
  EXPECT_EQ(in.Next(&frame, &error), FrameReader::Result::kNeedMore);
  in.EndReads();
}

TEST_F(IncomingFramesTest, ReadThatFillsTheSpaceSaysMoreMayWait) {
  IncomingFrames in(pair_.first.get(), "unix:/s", kDefaultMaxFrameSize,
                    nullptr);
  Send(Preface() + WindowUpdate(1, 1) + WindowUpdate(1, 2));
  char scratch[8];
  absl::Status error;
  EXPECT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kFull);
  in.EndReads();
}

TEST_F(IncomingFramesTest, NotASockrpcServerIsUnavailableNamingTheServer) {
  IncomingFrames in(pair_.first.get(), "unix:/s", kDefaultMaxFrameSize,
                    nullptr);
  Send(std::string(Preface().size(), 'x') + WindowUpdate(1, 1));
  char scratch[64];
  absl::Status error;
  ASSERT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kShort);
  FrameReader::Frame frame;
  ASSERT_EQ(in.Next(&frame, &error), FrameReader::Result::kMalformed);
  EXPECT_TRUE(absl::IsUnavailable(error)) << error;
  EXPECT_TRUE(absl::StrContains(error.message(), "unix:/s")) << error;
  EXPECT_TRUE(absl::StrContains(error.message(), "not answer as a sockrpc"))
      << error;
  in.EndReads();
}

TEST_F(IncomingFramesTest, MalformedFrameIsAProtocolError) {
  IncomingFrames in(pair_.first.get(), "unix:/s", kDefaultMaxFrameSize,
                    nullptr);
  std::string bad = WindowUpdate(1, 1);
  bad[10] = '\x01';  // reserved bytes must be zero
  Send(Preface() + bad);
  char scratch[64];
  absl::Status error;
  ASSERT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kShort);
  FrameReader::Frame frame;
  ASSERT_EQ(in.Next(&frame, &error), FrameReader::Result::kMalformed);
  EXPECT_TRUE(absl::IsInternal(error)) << error;
  EXPECT_TRUE(absl::StrContains(error.message(),
                                "protocol error from unix:/s: malformed"))
      << error;
  in.EndReads();
}

TEST_F(IncomingFramesTest, ServerClosingIsUnavailable) {
  IncomingFrames in(pair_.first.get(), "unix:/s", kDefaultMaxFrameSize,
                    nullptr);
  pair_.second = Fd();
  char scratch[64];
  absl::Status error;
  ASSERT_EQ(in.ReadOnce(absl::MakeSpan(scratch), &error), ReadResult::kFailed);
  EXPECT_TRUE(absl::IsUnavailable(error)) << error;
  EXPECT_TRUE(absl::StrContains(error.message(),
                                "connection to unix:/s closed by the server"))
      << error;
  in.EndReads();
}

}  // namespace
}  // namespace sockrpc
