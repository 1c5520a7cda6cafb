#include "transport/frame.h"

#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

std::string Encode(const FrameHeader& header) {
  std::string out(kFrameHeaderSize, '\xff');
  EncodeFrameHeader(header, out.data());
  return out;
}

FrameHeader Header(uint32_t length, uint32_t stream_id, FrameType type,
                   uint8_t flags = 0) {
  FrameHeader header;
  header.length = length;
  header.stream_id = stream_id;
  header.type = static_cast<uint8_t>(type);
  header.flags = flags;
  return header;
}

TEST(FrameTest, HeaderBytesAreBigEndianInSpecOrder) {
  const std::string bytes =
      Encode(Header(0x01020304, 0x0a0b0c0d, FrameType::kMessage, 0x01));
  const unsigned char expected[kFrameHeaderSize] = {
      0x01, 0x02, 0x03, 0x04,  // length
      0x0a, 0x0b, 0x0c, 0x0d,  // stream id
      0x02,                    // type MESSAGE
      0x01,                    // flags END_STREAM
      0x00, 0x00};             // reserved
  for (size_t i = 0; i < kFrameHeaderSize; ++i) {
    EXPECT_EQ(static_cast<unsigned char>(bytes[i]), expected[i])
        << "byte " << i;
  }
}

TEST(FrameTest, EncodeDecodeRoundTripsEveryField) {
  const FrameHeader in =
      Header(0xfedcba98, 0x7fffffff, FrameType::kHeaders, kFlagEndStream);
  absl::StatusOr<FrameHeader> out = DecodeFrameHeader(Encode(in).data());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->length, in.length);
  EXPECT_EQ(out->stream_id, in.stream_id);
  EXPECT_EQ(out->type, in.type);
  EXPECT_EQ(out->flags, in.flags);
}

TEST(FrameTest, ZeroLengthFrameDecodes) {
  absl::StatusOr<FrameHeader> out =
      DecodeFrameHeader(Encode(Header(0, 0, FrameType::kPing)).data());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->length, 0u);
}

TEST(FrameTest, LengthIsNotCheckedByTheDecoder) {
  absl::StatusOr<FrameHeader> out = DecodeFrameHeader(
      Encode(Header(0xffffffff, 1, FrameType::kMessage)).data());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->length, 0xffffffffu);
}

TEST(FrameTest, NonZeroReservedBytesAreRejected) {
  for (size_t index : {size_t{10}, size_t{11}}) {
    std::string bytes = Encode(Header(1, 1, FrameType::kMessage));
    bytes[index] = 0x01;
    absl::StatusOr<FrameHeader> out = DecodeFrameHeader(bytes.data());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
        << "byte " << index;
    EXPECT_THAT(out.status().message(), HasSubstr("reserved"));
  }
}

TEST(FrameTest, TypeZeroIsRejected) {
  FrameHeader header = Header(0, 1, FrameType::kMessage);
  header.type = 0;
  absl::StatusOr<FrameHeader> out = DecodeFrameHeader(Encode(header).data());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("type 0"));
}

TEST(FrameTest, CallFramesOnStreamZeroAreRejected) {
  for (FrameType type : {FrameType::kHeaders, FrameType::kMessage,
                         FrameType::kStatus, FrameType::kCancel}) {
    absl::StatusOr<FrameHeader> out =
        DecodeFrameHeader(Encode(Header(0, 0, type)).data());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
        << FrameTypeName(static_cast<uint8_t>(type));
    EXPECT_THAT(out.status().message(),
                HasSubstr(FrameTypeName(static_cast<uint8_t>(type))));
    EXPECT_THAT(out.status().message(), HasSubstr("stream 0"));
  }
}

TEST(FrameTest, ConnectionFramesOnACallStreamAreRejected) {
  for (FrameType type : {FrameType::kPing, FrameType::kGoAway}) {
    absl::StatusOr<FrameHeader> out =
        DecodeFrameHeader(Encode(Header(8, 3, type)).data());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
        << FrameTypeName(static_cast<uint8_t>(type));
    EXPECT_THAT(out.status().message(), HasSubstr("stream 3"));
  }
}

TEST(FrameTest, ConnectionFramesOnStreamZeroAreAccepted) {
  for (FrameType type : {FrameType::kPing, FrameType::kGoAway}) {
    EXPECT_TRUE(DecodeFrameHeader(Encode(Header(8, 0, type)).data()).ok());
  }
}

TEST(FrameTest, UnknownTypeIsAcceptedOnAnyStreamForSkipping) {
  for (uint32_t stream : {0u, 5u}) {
    FrameHeader header = Header(3, stream, FrameType::kMessage);
    header.type = 0x2a;
    absl::StatusOr<FrameHeader> out = DecodeFrameHeader(Encode(header).data());
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->type, 0x2a);
    EXPECT_EQ(out->length, 3u);
  }
}

TEST(FrameTest, WindowUpdateIsAcceptedOnAnyStream) {
  for (uint32_t stream : {0u, 9u}) {
    EXPECT_TRUE(DecodeFrameHeader(
                    Encode(Header(4, stream, FrameType::kWindowUpdate)).data())
                    .ok());
  }
}

TEST(FrameTest, FrameTypeNamesKnownAndUnknown) {
  EXPECT_STREQ(FrameTypeName(0x01), "HEADERS");
  EXPECT_STREQ(FrameTypeName(0x07), "GOAWAY");
  EXPECT_THAT(FrameTypeName(0x2a), HasSubstr("UNKNOWN"));
}

TEST(FrameTest, OurPrefaceIsMagicThenVersion) {
  char preface[kPrefaceSize];
  EncodePreface(preface);
  EXPECT_EQ(std::string(preface, kPrefaceMagicSize), "SOCKRPC");
  EXPECT_EQ(static_cast<uint8_t>(preface[7]), kProtocolVersion);
  EXPECT_TRUE(CheckPreface(absl::string_view(preface, kPrefaceSize)).ok());
}

TEST(FrameTest, PrefaceWithBadMagicIsInvalidArgument) {
  absl::Status status = CheckPreface("GET / HT");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("GET / HT"));
}

TEST(FrameTest, ShortPrefaceIsInvalidArgument) {
  EXPECT_EQ(CheckPreface("SOCKRPC").code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameTest, PrefaceWithOtherVersionIsFailedPrecondition) {
  absl::Status status = CheckPreface(absl::string_view("SOCKRPC\x02", 8));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("version 2"));
}

}  // namespace
}  // namespace sockrpc
