// The wire codec: status and metadata mapping, frames built from messages.
#include "transport/wire_codec.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(WireCodecTest, AllSeventeenStatusCodesRoundTrip) {
  for (uint32_t code = 0; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code),
                        code == 0 ? "" : "why");
    wire::CallStatus wire_status;
    StatusToWire(status, &wire_status);
    EXPECT_EQ(wire_status.code(), code);
    EXPECT_EQ(StatusFromWire(wire_status.code(), wire_status.message()),
              status);
  }
}

TEST(WireCodecTest, GrpcCodeNumbersAreAbslCodeNumbers) {
  EXPECT_EQ(StatusCodeFromWire(1), absl::StatusCode::kCancelled);
  EXPECT_EQ(StatusCodeFromWire(4), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusCodeFromWire(12), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(StatusCodeFromWire(14), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeFromWire(16), absl::StatusCode::kUnauthenticated);
}

TEST(WireCodecTest, UnknownCodeBecomesUnknownAndKeepsTheNumber) {
  absl::Status status = StatusFromWire(99, "odd");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(status.message().find("99"), absl::string_view::npos);
  EXPECT_NE(status.message().find("odd"), absl::string_view::npos);
}

TEST(WireCodecTest, MetadataKeepsOrderAndDuplicates) {
  Metadata metadata = {{"a", "1"}, {"b-bin", std::string("\0\xff", 2)},
                       {"a", "2"}};
  wire::CallHeader header;
  MetadataToWire(metadata, header.mutable_metadata());
  EXPECT_EQ(MetadataFromWire(header.metadata()), metadata);
}

TEST(WireCodecTest, MessageFrameOverTheLimitAppendsNothing) {
  wire::CallStatus status;
  status.set_message(std::string(100, 'x'));
  std::string out = "keep";
  absl::Status result = AppendMessageFrame(&out, FrameType::kStatus, 0, 1,
                                           status, /*max_frame_size=*/50);
  EXPECT_EQ(result.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out, "keep");
}

TEST(WireCodecTest, MessageFrameCarriesTheEncoding) {
  wire::CallHeader header;
  header.set_method("/increment.Increment/Increment");
  std::string out;
  ASSERT_TRUE(AppendMessageFrame(&out, FrameType::kHeaders, kFlagEndStream, 7,
                                 header, kDefaultMaxFrameSize)
                  .ok());
  absl::StatusOr<FrameHeader> decoded = DecodeFrameHeader(out.data());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->stream_id, 7u);
  EXPECT_EQ(decoded->flags, kFlagEndStream);
  EXPECT_EQ(decoded->length, out.size() - kFrameHeaderSize);
  EXPECT_EQ(out.substr(kFrameHeaderSize), header.SerializeAsString());
}

TEST(WireCodecTest,
     MessageFrameOfAKnownSizeCarriesTheEncodingAfterWhatWasThere) {
  // Both ways a frame is put together: on the stack (payloads up to 256
  // bytes) and in place in `out` (larger).
  for (size_t length : {size_t{10}, size_t{250}, size_t{4000}}) {
    wire::CallStatus status;
    status.set_message(std::string(length, 'm'));
    std::string out = "keep";
    ASSERT_TRUE(AppendMessageFrameOfSize(&out, FrameType::kStatus, 0, 3, status,
                                         status.ByteSizeLong(),
                                         kDefaultMaxFrameSize)
                    .ok());
    ASSERT_EQ(out.substr(0, 4), "keep");
    absl::StatusOr<FrameHeader> decoded = DecodeFrameHeader(out.data() + 4);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->type, static_cast<uint8_t>(FrameType::kStatus));
    EXPECT_EQ(decoded->stream_id, 3u);
    EXPECT_EQ(decoded->length, out.size() - 4 - kFrameHeaderSize);
    EXPECT_EQ(out.substr(4 + kFrameHeaderSize), status.SerializeAsString())
        << "message of " << length << " bytes";
  }
  wire::CallStatus large;
  large.set_message(std::string(100, 'x'));
  std::string out = "keep";
  EXPECT_EQ(AppendMessageFrameOfSize(&out, FrameType::kStatus, 0, 1, large,
                                     large.ByteSizeLong(),
                                     /*max_frame_size=*/50)
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out, "keep");
}

// Decodes the one STATUS frame in `out`; fails the test if it is not one.
wire::CallStatus ParseStatusFrame(const std::string& out, uint32_t stream_id) {
  wire::CallStatus call_status;
  absl::StatusOr<FrameHeader> header = DecodeFrameHeader(out.data());
  EXPECT_TRUE(header.ok());
  if (!header.ok()) return call_status;
  EXPECT_EQ(header->type, static_cast<uint8_t>(FrameType::kStatus));
  EXPECT_EQ(header->stream_id, stream_id);
  EXPECT_EQ(header->length, out.size() - kFrameHeaderSize);
  EXPECT_TRUE(call_status.ParseFromString(out.substr(kFrameHeaderSize)));
  return call_status;
}

TEST(WireCodecTest, PlainOkStatusFrameHasAnEmptyPayload) {
  std::string out;
  EXPECT_TRUE(
      AppendStatusFrame(&out, 5, absl::OkStatus(), {}, kDefaultMaxFrameSize)
          .ok());
  ASSERT_EQ(out.size(), kFrameHeaderSize);
  wire::CallStatus call_status = ParseStatusFrame(out, 5);
  EXPECT_EQ(call_status.code(), 0u);
  EXPECT_TRUE(call_status.message().empty());
}

TEST(WireCodecTest, StatusFrameCarriesCodeMessageAndTrailers) {
  std::string out;
  absl::Status sent = AppendStatusFrame(
      &out, 9, absl::NotFoundError("no such book"), {{"k", "v"}},
      kDefaultMaxFrameSize);
  EXPECT_EQ(sent, absl::NotFoundError("no such book"));
  wire::CallStatus call_status = ParseStatusFrame(out, 9);
  EXPECT_EQ(call_status.code(),
            static_cast<uint32_t>(absl::StatusCode::kNotFound));
  EXPECT_EQ(call_status.message(), "no such book");
  ASSERT_EQ(call_status.metadata_size(), 1);
  EXPECT_EQ(call_status.metadata(0).key(), "k");
  EXPECT_EQ(call_status.metadata(0).value(), "v");
}

TEST(WireCodecTest, StatusFrameWithTrailersOverTheLimitSaysSo) {
  std::string out;
  absl::Status sent = AppendStatusFrame(
      &out, 3, absl::OkStatus(), {{"big", std::string(200, 'x')}}, 100);
  EXPECT_EQ(sent.code(), absl::StatusCode::kResourceExhausted);
  wire::CallStatus call_status = ParseStatusFrame(out, 3);
  EXPECT_EQ(call_status.code(),
            static_cast<uint32_t>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(call_status.message(), "trailing metadata too large");
  EXPECT_EQ(call_status.metadata_size(), 0);
}

// The hand-made CallHeader encoding is byte for byte protobuf's, in every
// shape a header takes: empty fields left out, long lengths, metadata
// entries with empty keys or values.
TEST(WireCodecTest, CallHeaderFrameIsProtobufsEncodingOfTheCallHeader) {
  struct Case {
    std::string method;
    uint64_t timeout_micros;
    Metadata metadata;
  };
  const std::vector<Case> cases = {
      {"/increment.Increment/Increment", 0, {}},
      {"/a.B/C", 1, {}},
      {"", 0, {}},
      {std::string(300, 'm'), uint64_t{1} << 62, {}},
      {"/a.B/C", 20000000,
       {{"a", "1"}, {"", ""}, {"k", ""}, {"", "v"},
        {"big-bin", std::string(200, '\xff')}}},
  };
  for (const Case& c : cases) {
    wire::CallHeader header;
    header.set_method(c.method);
    header.set_timeout_micros(c.timeout_micros);
    MetadataToWire(c.metadata, header.mutable_metadata());
    std::string expected = "keep";
    ASSERT_TRUE(AppendMessageFrame(&expected, FrameType::kHeaders,
                                   kFlagEndStream, 9, header,
                                   kDefaultMaxFrameSize)
                    .ok());
    std::string out = "keep";
    ASSERT_TRUE(AppendCallHeaderFrame(&out, kFlagEndStream, 9, c.method,
                                      c.timeout_micros, c.metadata,
                                      kDefaultMaxFrameSize)
                    .ok());
    EXPECT_EQ(absl::BytesToHexString(out), absl::BytesToHexString(expected))
        << "method of " << c.method.size() << " bytes, "
        << c.metadata.size() << " metadata entries";
  }
}

TEST(WireCodecTest, CallHeaderFrameOverTheLimitAppendsNothing) {
  std::string out = "keep";
  absl::Status result =
      AppendCallHeaderFrame(&out, 0, 1, std::string(100, 'm'), 0, {},
                            /*max_frame_size=*/50);
  EXPECT_EQ(result.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out, "keep");
}

// DecodePlainCallHeader reads what protobuf would from a CallHeader with
// only a method and a timeout, and declines everything else.
TEST(WireCodecTest, PlainCallHeaderDecodesAsProtobufDoes) {
  for (uint64_t timeout : {uint64_t{0}, uint64_t{1}, uint64_t{300},
                           uint64_t{1} << 40, ~uint64_t{0}}) {
    wire::CallHeader header;
    header.set_method("/pkg.Service/Method");
    header.set_timeout_micros(timeout);
    const std::string bytes = header.SerializeAsString();
    absl::string_view method;
    uint64_t timeout_micros = 7;
    ASSERT_TRUE(DecodePlainCallHeader(bytes, &method, &timeout_micros));
    EXPECT_EQ(method, "/pkg.Service/Method");
    EXPECT_EQ(timeout_micros, timeout);
  }
  absl::string_view method = "x";
  uint64_t timeout_micros = 7;
  ASSERT_TRUE(DecodePlainCallHeader("", &method, &timeout_micros));
  EXPECT_EQ(method, "");
  EXPECT_EQ(timeout_micros, 0u);
  // Fields repeated: the last occurrence wins, as in protobuf.
  const std::string twice = std::string(
      "\x0a\x01"
      "a"
      "\x10\x05\x0a\x01"
      "b"
      "\x10\x06",
      10);
  wire::CallHeader parsed;
  ASSERT_TRUE(parsed.ParseFromString(twice));
  ASSERT_TRUE(DecodePlainCallHeader(twice, &method, &timeout_micros));
  EXPECT_EQ(method, parsed.method());
  EXPECT_EQ(timeout_micros, parsed.timeout_micros());
}

TEST(WireCodecTest, PlainCallHeaderDeclinesMetadataAndMalformedBytes) {
  wire::CallHeader with_metadata;
  with_metadata.set_method("/pkg.Service/Method");
  wire::MetadataEntry* entry = with_metadata.add_metadata();
  entry->set_key("k");
  entry->set_value("v");
  absl::string_view method;
  uint64_t timeout_micros;
  EXPECT_FALSE(DecodePlainCallHeader(with_metadata.SerializeAsString(), &method,
                                     &timeout_micros));
  const std::string malformed[] = {
      std::string("\x0a\x05"
                  "abc",
                  5),          // method longer than the bytes
      std::string("\x10", 1),  // timeout cut short
      std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),
      std::string("\x0a", 1),      // length missing
      std::string("\x08\x01", 2),  // field 1 as a varint
      std::string("\x20\x01", 2),  // an unknown field
  };
  for (const std::string& bytes : malformed) {
    EXPECT_FALSE(DecodePlainCallHeader(bytes, &method, &timeout_micros))
        << absl::CEscape(bytes);
  }
}

}  // namespace
}  // namespace sockrpc
