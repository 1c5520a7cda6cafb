// Unit tests of the decoding library behind `sockrpc tap` and `sockrpc
// decode`: byte streams built with the wire codec, good and deliberately
// broken, go through a ConnectionDecoder; the tests check the events.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "sockrpc/health.pb.h"
#include "sockrpc/reflection.pb.h"
#include "sockrpc/stats.pb.h"
#include "sockrpc/wire.pb.h"
#include "tools/cli/connection_decoder.h"
#include "tools/cli/frame_printer.h"
#include "tools/cli/raw_fields.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace cli {
namespace {

using ::testing::HasSubstr;

constexpr char kMethod[] = "/increment.Increment/Increment";

// A pool holding increment.proto, built from its descriptor the way a
// schema loaded at run time is (not the generated pool).
class IncrementPool {
 public:
  IncrementPool() {
    google::protobuf::FileDescriptorProto file;
    increment::IncrementRequest::descriptor()->file()->CopyTo(&file);
    pool_.BuildFile(file);
  }
  const google::protobuf::DescriptorPool* get() const { return &pool_; }

 private:
  google::protobuf::DescriptorPool pool_;
};

// A client's preface and one call: HEADERS for `method`, then `request`
// (the last message).
std::string ClientCallBytes(absl::string_view method,
                            const google::protobuf::MessageLite& request) {
  std::string out;
  AppendPreface(&out);
  wire::CallHeader header;
  header.set_method(std::string(method));
  EXPECT_TRUE(AppendMessageFrame(&out, FrameType::kHeaders, 0, 1, header,
                                 kDefaultMaxFrameSize)
                  .ok());
  EXPECT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, kFlagEndStream, 1,
                                 request, kDefaultMaxFrameSize)
                  .ok());
  return out;
}

std::string ClientBytes(absl::string_view character) {
  increment::IncrementRequest request;
  request.set_character(std::string(character));
  return ClientCallBytes(kMethod, request);
}

std::string ServerBytes(absl::string_view character) {
  std::string out;
  AppendPreface(&out);
  increment::IncrementReply reply;
  reply.set_character(std::string(character));
  EXPECT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, 0, 1, reply,
                                 kDefaultMaxFrameSize)
                  .ok());
  AppendRawFrame(&out, FrameType::kStatus, 0, 1, "");
  return out;
}

// Feeds `client` then `server` (each in pieces of `chunk` bytes; 0: whole)
// and returns the JSON lines.
std::vector<std::string> Decode(const google::protobuf::DescriptorPool* pool,
                                absl::string_view client,
                                absl::string_view server, size_t chunk = 0) {
  DecodeOptions options;
  options.pool = pool;
  ConnectionDecoder decoder(7, options);
  std::vector<InspectEvent> events;
  const absl::Time time = absl::FromUnixSeconds(1700000000);
  auto feed = [&](Direction direction, absl::string_view bytes) {
    size_t step = chunk == 0 ? std::max<size_t>(bytes.size(), 1) : chunk;
    for (size_t i = 0; i < bytes.size(); i += step) {
      decoder.Data(direction, time, bytes.substr(i, step), &events);
    }
    decoder.End(direction, time, "", &events);
  };
  feed(Direction::kClientToServer, client);
  feed(Direction::kServerToClient, server);
  std::vector<std::string> lines;
  PrintOptions print;
  print.json = true;
  for (const InspectEvent& event : events) {
    lines.push_back(FormatEvent(event, print));
  }
  return lines;
}

std::string Joined(const std::vector<std::string>& lines) {
  return absl::StrJoin(lines, "");
}

TEST(TapDecoderTest, GoodCallDecodesRequestAndReplyWithTheMethod) {
  IncrementPool pool;
  std::vector<std::string> lines =
      Decode(pool.get(), ClientBytes("A"), ServerBytes("B"));
  ASSERT_EQ(lines.size(), 8u) << Joined(lines);
  EXPECT_THAT(lines[0], HasSubstr("\"event\":\"preface\""));
  EXPECT_THAT(lines[1], HasSubstr("\"type\":\"HEADERS\""));
  EXPECT_THAT(lines[1], HasSubstr(kMethod));
  EXPECT_THAT(lines[2], HasSubstr("\"message_type\":\"increment.IncrementRequest\""));
  EXPECT_THAT(lines[2], HasSubstr("\"message\":{\"character\":\"A\"}"));
  EXPECT_THAT(lines[2], HasSubstr("\"flag_names\":\"END_STREAM\""));
  EXPECT_THAT(lines[3], HasSubstr("\"event\":\"end\""));
  EXPECT_THAT(lines[5], HasSubstr("\"message_type\":\"increment.IncrementReply\""));
  EXPECT_THAT(lines[5], HasSubstr("\"message\":{\"character\":\"B\"}"));
  EXPECT_THAT(lines[6], HasSubstr("\"type\":\"STATUS\""));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, ::testing::Not(HasSubstr("\"error\""))) << line;
  }
}

TEST(TapDecoderTest, SplittingTheStreamAtAnyByteGivesTheSameEvents) {
  IncrementPool pool;
  const std::string client = ClientBytes("A");
  const std::string server = ServerBytes("B");
  const std::vector<std::string> whole = Decode(pool.get(), client, server);
  for (size_t chunk = 1; chunk <= client.size(); ++chunk) {
    EXPECT_EQ(Decode(pool.get(), client, server, chunk), whole)
        << "chunks of " << chunk;
  }
}

TEST(TapDecoderTest, WithoutSchemaMessagesAreShownAsRawFields) {
  std::vector<std::string> lines =
      Decode(nullptr, ClientBytes("A"), ServerBytes("B"));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_THAT(lines[2], HasSubstr("\"error\":\"no schema"));
  EXPECT_THAT(lines[2], HasSubstr("\"raw\":\"1: \\\"A\\\"\""));
}

// The built-in reflection service's calls decode with or without a schema
// of the caller's: its descriptors are compiled into the tool.
TEST(TapDecoderTest, ReflectionCallsDecodeWithoutAndWithASchema) {
  reflection::v1::FileContainingSymbolRequest request;
  request.set_symbol("increment.Increment");
  const std::string client = ClientCallBytes(
      "/sockrpc.reflection.v1.Reflection/FileContainingSymbol", request);
  IncrementPool pool;
  for (const google::protobuf::DescriptorPool* schema :
       {static_cast<const google::protobuf::DescriptorPool*>(nullptr),
        pool.get()}) {
    std::vector<std::string> lines = Decode(schema, client, "");
    ASSERT_GE(lines.size(), 3u) << Joined(lines);
    EXPECT_THAT(lines[2], HasSubstr("\"message_type\":\"sockrpc.reflection.v1."
                                    "FileContainingSymbolRequest\""));
    EXPECT_THAT(lines[2],
                HasSubstr("\"message\":{\"symbol\":\"increment.Increment\"}"));
    EXPECT_THAT(lines[2], ::testing::Not(HasSubstr("\"error\"")));
  }
}

// So do the built-in health service's (a probe's Check, say).
TEST(TapDecoderTest, HealthCallsDecodeWithoutASchema) {
  health::v1::HealthCheckRequest request;
  request.set_service("increment.Increment");
  const std::string client =
      ClientCallBytes("/sockrpc.health.v1.Health/Check", request);
  std::vector<std::string> lines = Decode(nullptr, client, "");
  ASSERT_GE(lines.size(), 3u) << Joined(lines);
  EXPECT_THAT(lines[2], HasSubstr("\"message_type\":\"sockrpc.health.v1."
                                  "HealthCheckRequest\""));
  EXPECT_THAT(lines[2],
              HasSubstr("\"message\":{\"service\":\"increment.Increment\"}"));
}

// And the stats service's (`sockrpc stats` through a tap).
TEST(TapDecoderTest, StatsCallsDecodeWithoutASchema) {
  stats::v1::GetStatsRequest request;
  request.set_connection_limit(20);
  const std::string client =
      ClientCallBytes("/sockrpc.stats.v1.Stats/GetStats", request);
  std::vector<std::string> lines = Decode(nullptr, client, "");
  ASSERT_GE(lines.size(), 3u) << Joined(lines);
  EXPECT_THAT(lines[2], HasSubstr("\"message_type\":\"sockrpc.stats.v1."
                                  "GetStatsRequest\""));
  EXPECT_THAT(lines[2], HasSubstr("\"message\":{\"connectionLimit\":20}"));
}

TEST(TapDecoderTest, MalformedHeaderIsShownAndTheRestIsUnframed) {
  IncrementPool pool;
  std::string client = ClientBytes("A");
  std::string bad = client.substr(0, kPrefaceSize);
  // A header with non-zero reserved bytes, then more bytes.
  bad += std::string("\x00\x00\x00\x01\x00\x00\x00\x01\x02\x00\x01\x00", 12);
  bad += "after the bad header";
  std::vector<std::string> lines = Decode(pool.get(), bad, "");
  ASSERT_GE(lines.size(), 4u) << Joined(lines);
  EXPECT_THAT(lines[1], HasSubstr("\"event\":\"malformed\""));
  EXPECT_THAT(lines[1], HasSubstr("reserved bytes"));
  EXPECT_THAT(lines[1], HasSubstr("\"hex\":\"000000010000000102000100\""));
  EXPECT_THAT(lines[2], HasSubstr("\"event\":\"unframed\""));
  EXPECT_THAT(lines[2], HasSubstr("\"bytes_total\":20"));
}

TEST(TapDecoderTest, BadPrefaceIsShownAsMalformed) {
  std::vector<std::string> lines = Decode(nullptr, "GET / HTTP/1.1\r\n", "");
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"event\":\"malformed\""));
  EXPECT_THAT(lines[0], HasSubstr("bad connection preface"));
  EXPECT_THAT(lines[1], HasSubstr("\"event\":\"unframed\""));
}

TEST(TapDecoderTest, MessageThatDoesNotParseIsShownWithTheReason) {
  IncrementPool pool;
  std::string client = ClientBytes("A");
  // A request whose field 1 (a string) claims more bytes than there are.
  AppendRawFrame(&client, FrameType::kMessage, 0, 1,
                 absl::string_view("\x0a\x05\x41", 3));
  std::vector<std::string> lines = Decode(pool.get(), client, "");
  ASSERT_GE(lines.size(), 4u) << Joined(lines);
  EXPECT_THAT(lines[3],
              HasSubstr("does not parse as increment.IncrementRequest"));
  EXPECT_THAT(lines[3], HasSubstr("\"hex\":\"0a0541\""));
}

TEST(TapDecoderTest, UnknownFrameTypeIsSkippedAndLaterFramesDecode) {
  IncrementPool pool;
  std::string client;
  AppendPreface(&client);
  client += std::string("\x00\x00\x00\x02\x00\x00\x00\x05\x42\x00\x00\x00zz",
                        14);
  std::string call = ClientBytes("A");
  client += call.substr(kPrefaceSize);
  std::vector<std::string> lines = Decode(pool.get(), client, "");
  ASSERT_GE(lines.size(), 4u) << Joined(lines);
  EXPECT_THAT(lines[1], HasSubstr("unknown frame type 0x42"));
  EXPECT_THAT(lines[3], HasSubstr("\"message\":{\"character\":\"A\"}"));
}

TEST(TapDecoderTest, StreamEndingInsideAFrameIsTruncated) {
  IncrementPool pool;
  std::string client = ClientBytes("A");
  client.resize(client.size() - 2);
  std::vector<std::string> lines = Decode(pool.get(), client, "");
  ASSERT_GE(lines.size(), 3u) << Joined(lines);
  EXPECT_THAT(lines[2], HasSubstr("\"event\":\"truncated\""));
  EXPECT_THAT(lines[2], HasSubstr("1 of 3 bytes"));
}

TEST(TapDecoderTest, RandomBytesNeverCrashTheDecoder) {
  IncrementPool pool;
  std::mt19937 random(42);
  for (int round = 0; round < 200; ++round) {
    std::string bytes;
    if (round % 2 == 0) AppendPreface(&bytes);
    const size_t size = random() % 300;
    for (size_t i = 0; i < size; ++i) {
      bytes.push_back(static_cast<char>(random() % (round % 3 == 0 ? 4 : 256)));
    }
    std::vector<std::string> lines =
        Decode(pool.get(), bytes, bytes, 1 + random() % 17);
    EXPECT_FALSE(lines.empty());
  }
}

TEST(TapDecoderTest, TextOutputNamesDirectionTypeAndMessage) {
  IncrementPool pool;
  DecodeOptions options;
  options.pool = pool.get();
  ConnectionDecoder decoder(3, options);
  std::vector<InspectEvent> events;
  decoder.Data(Direction::kClientToServer, absl::UnixEpoch(), ClientBytes("A"),
               &events);
  ASSERT_EQ(events.size(), 3u);
  std::string line = FormatEvent(events[2], PrintOptions());
  EXPECT_THAT(line, HasSubstr("#3 C->S MESSAGE stream=1 END_STREAM len=3"));
  EXPECT_THAT(line, HasSubstr(kMethod));
  EXPECT_THAT(line, HasSubstr("{\"character\":\"A\"}"));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("\033[")));
  PrintOptions color;
  color.color = true;
  EXPECT_THAT(FormatEvent(events[2], color), HasSubstr("\033["));
}

TEST(RawFieldsTest, ShowsNumbersTextAndNestedMessages) {
  EXPECT_EQ(RawFieldsText("").value(), "");
  EXPECT_EQ(RawFieldsText(absl::string_view("\x08\x96\x01", 3)).value(),
            "1: 150");
  EXPECT_EQ(RawFieldsText(absl::string_view("\x0a\x01\x41", 3)).value(),
            "1: \"A\"");
  EXPECT_EQ(RawFieldsText(absl::string_view("\x1a\x02\x08\x07", 4)).value(),
            "3 { 1: 7 }");
  EXPECT_FALSE(RawFieldsText(absl::string_view("\xff\xff\xff", 3)).has_value());
}

}  // namespace
}  // namespace cli
}  // namespace sockrpc
