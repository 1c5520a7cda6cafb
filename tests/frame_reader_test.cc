// FrameReader: cutting a byte stream into frames, fed in awkward pieces.
#include "transport/frame_reader.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "transport/buffer_pool.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// Copies `bytes` into the reader, `chunk` bytes at a time, collecting the
// payloads of complete frames. With `scratch_size`, each piece is read as
// a socket read would be, into that much scratch space of the caller's,
// which is scribbled over after each EndReads() (as the next use of a
// stack would).
std::vector<std::string> Feed(
    FrameReader& reader, absl::string_view bytes, size_t chunk,
    std::vector<FrameReader::Result>* results = nullptr,
    size_t scratch_size = 0) {
  std::vector<std::string> payloads;
  std::string scratch(scratch_size, '\0');
  while (!bytes.empty()) {
    absl::Span<char> space = scratch.empty()
                                 ? reader.PrepareRead(1)
                                 : reader.PrepareRead(absl::MakeSpan(scratch));
    size_t n = std::min({chunk, space.size(), bytes.size()});
    std::memcpy(space.data(), bytes.data(), n);
    reader.CommitRead(n);
    bytes.remove_prefix(n);
    for (;;) {
      FrameReader::Frame frame;
      absl::Status error;
      FrameReader::Result result = reader.Next(&frame, &error);
      if (result == FrameReader::Result::kNeedMore) break;
      if (results != nullptr) results->push_back(result);
      if (result == FrameReader::Result::kFrame) {
        payloads.emplace_back(frame.payload);
      }
      if (result == FrameReader::Result::kMalformed) return payloads;
    }
    if (!scratch.empty()) {
      reader.EndReads();
      std::fill(scratch.begin(), scratch.end(), '\xAA');
    }
  }
  return payloads;
}

TEST(FrameReaderTest, FramesArrivingByteByByteAreReassembled) {
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, "hello");
  AppendRawFrame(&bytes, FrameType::kMessage, kFlagEndStream, 3, "");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 5, std::string(40000, 'x'));
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, bytes.size()}) {
    FrameReader reader(kDefaultMaxFrameSize);
    std::vector<std::string> payloads = Feed(reader, bytes, chunk);
    ASSERT_EQ(payloads.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(payloads[0], "hello");
    EXPECT_EQ(payloads[1], "");
    EXPECT_EQ(payloads[2], std::string(40000, 'x'));
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(FrameReaderTest, ReadsIntoScratchKeepOnlyTheBytesOfACutFrame) {
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, "hello");
  AppendRawFrame(&bytes, FrameType::kMessage, kFlagEndStream, 3, "");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 5, std::string(40000, 'x'));
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 7, "bye");
  for (size_t scratch_size : {size_t{20}, size_t{16} << 10}) {
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, bytes.size()}) {
      FrameReader reader(kDefaultMaxFrameSize);
      std::vector<std::string> payloads =
          Feed(reader, bytes, chunk, nullptr, scratch_size);
      ASSERT_EQ(payloads.size(), 4u) << "chunk " << chunk;
      EXPECT_EQ(payloads[0], "hello");
      EXPECT_EQ(payloads[1], "");
      EXPECT_EQ(payloads[2], std::string(40000, 'x'));
      EXPECT_EQ(payloads[3], "bye");
      EXPECT_EQ(reader.buffered(), 0u);
      EXPECT_FALSE(reader.holds_buffer());
    }
  }
}

TEST(FrameReaderTest, WholeFramesReadIntoScratchNeedNoBufferOfTheReaders) {
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, "one");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 3, "two");
  std::string half;
  AppendRawFrame(&half, FrameType::kMessage, 0, 5, "three");
  const std::string rest = half.substr(half.size() - 2);
  half.resize(half.size() - 2);

  FrameReader reader(kDefaultMaxFrameSize);
  char scratch[256];
  absl::Span<char> space = reader.PrepareRead(absl::MakeSpan(scratch));
  ASSERT_EQ(space.data(), scratch);
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader.CommitRead(bytes.size());
  FrameReader::Frame frame;
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload, "two");
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kNeedMore);
  EXPECT_FALSE(reader.holds_buffer());

  // A frame cut in two: its first part outlives the scratch space.
  space = reader.PrepareRead(absl::MakeSpan(scratch));
  std::memcpy(space.data(), half.data(), half.size());
  reader.CommitRead(half.size());
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kNeedMore);
  reader.EndReads();
  EXPECT_TRUE(reader.holds_buffer());
  std::memset(scratch, 0, sizeof(scratch));
  space = reader.PrepareRead(absl::MakeSpan(scratch));
  EXPECT_NE(space.data(), scratch);  // goes on in the reader's own buffer
  std::memcpy(space.data(), rest.data(), rest.size());
  reader.CommitRead(rest.size());
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload, "three");
  reader.EndReads();
  EXPECT_FALSE(reader.holds_buffer());
}

TEST(FrameReaderTest, PrefaceIsTakenBeforeFrames) {
  std::string bytes;
  AppendPreface(&bytes);
  AppendRawFrame(&bytes, FrameType::kPing, 0, 0, "12345678");
  FrameReader reader(kDefaultMaxFrameSize);
  absl::string_view preface;
  absl::Span<char> space = reader.PrepareRead();
  std::memcpy(space.data(), bytes.data(), 5);
  reader.CommitRead(5);
  EXPECT_FALSE(reader.TakePreface(&preface));
  space = reader.PrepareRead();
  std::memcpy(space.data(), bytes.data() + 5, bytes.size() - 5);
  reader.CommitRead(bytes.size() - 5);
  ASSERT_TRUE(reader.TakePreface(&preface));
  EXPECT_TRUE(CheckPreface(preface).ok());
  FrameReader::Frame frame;
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.header.type, static_cast<uint8_t>(FrameType::kPing));
  EXPECT_EQ(frame.payload, "12345678");
}

TEST(FrameReaderTest, OversizedFrameIsSkippedWithoutBufferingAndStaysInSync) {
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, std::string(5000, 'a'));
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 3, "after");
  FrameReader reader(/*max_frame_size=*/1024);
  std::vector<FrameReader::Result> results;
  std::vector<std::string> payloads = Feed(reader, bytes, 512, &results);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], FrameReader::Result::kOversized);
  EXPECT_EQ(results[1], FrameReader::Result::kFrame);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], "after");
}

TEST(FrameReaderTest, HugeClaimedLengthAllocatesNothing) {
  std::string bytes(kFrameHeaderSize, '\0');
  FrameHeader header;
  header.length = 0xffffffffu;
  header.stream_id = 1;
  header.type = static_cast<uint8_t>(FrameType::kMessage);
  EncodeFrameHeader(header, bytes.data());
  FrameReader reader(kDefaultMaxFrameSize);
  std::vector<FrameReader::Result> results;
  Feed(reader, bytes + std::string(100, 'z'), 4096, &results);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], FrameReader::Result::kOversized);
  // Space for the next read is the default read size, not 4 GiB.
  EXPECT_LE(reader.PrepareRead().size(), 64u * 1024);
}

TEST(FrameReaderTest, AFrameAnnouncedLargeButBarelySentHoldsLittleMemory) {
  // A header announcing a 4 MiB frame within the limit, then one byte of
  // it: the reader must not make room for the whole frame before its bytes
  // come (a peer could otherwise make a server hold 4 MiB per connection
  // for 13 bytes sent). Room grows with what has arrived.
  std::string bytes(kFrameHeaderSize, '\0');
  FrameHeader header;
  header.length = kDefaultMaxFrameSize - 16;
  header.stream_id = 1;
  header.type = static_cast<uint8_t>(FrameType::kMessage);
  EncodeFrameHeader(header, bytes.data());
  FrameReader reader(kDefaultMaxFrameSize);
  std::vector<FrameReader::Result> results;
  Feed(reader, bytes + "x", 4096, &results, /*scratch_size=*/16 * 1024);
  EXPECT_TRUE(results.empty());
  EXPECT_LE(reader.PrepareRead().size(), 64u * 1024);

  // The rest, arriving in reads as large as the room offered, makes the
  // whole frame, in a buffer that at most doubled at each step.
  std::string rest(header.length - 1, 'y');
  size_t steps = 0;
  while (!rest.empty()) {
    absl::Span<char> space = reader.PrepareRead();
    const size_t n = std::min(space.size(), rest.size());
    std::memcpy(space.data(), rest.data(), n);
    reader.CommitRead(n);
    rest.erase(0, n);
    ++steps;
  }
  EXPECT_LE(steps, 12u);  // 16 KiB, 32 KiB, ... 4 MiB
  FrameReader::Frame frame;
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload.size(), header.length);
  EXPECT_EQ(frame.payload.substr(0, 2), "xy");
}

TEST(FrameReaderTest, MalformedHeaderIsReported) {
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, "x");
  bytes[10] = 1;  // reserved byte
  FrameReader reader(kDefaultMaxFrameSize);
  std::vector<FrameReader::Result> results;
  Feed(reader, bytes, bytes.size(), &results);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], FrameReader::Result::kMalformed);
}

// Copies `bytes` into the reader whole, as one read.
void Put(FrameReader& reader, absl::string_view bytes) {
  absl::Span<char> space = reader.PrepareRead(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader.CommitRead(bytes.size());
}

TEST(FrameReaderTest,
     TakeEmptyFrameTakesOnlyAWholeEmptyFrameOfItsTypeAndStream) {
  const uint8_t status = static_cast<uint8_t>(FrameType::kStatus);
  std::string other_stream, other_type, with_payload, malformed;
  AppendRawFrame(&other_stream, FrameType::kStatus, 0, 5, "");
  AppendRawFrame(&other_type, FrameType::kHalfClose, 0, 3, "");
  AppendRawFrame(&with_payload, FrameType::kStatus, 0, 3, "x");
  AppendRawFrame(&malformed, FrameType::kStatus, 0, 3, "");
  malformed[10] = 1;  // reserved byte
  for (const std::string& refused :
       {other_stream, other_type, with_payload, malformed}) {
    FrameReader reader(kDefaultMaxFrameSize);
    Put(reader, refused);
    EXPECT_FALSE(reader.TakeEmptyFrame(status, 3));
    EXPECT_EQ(reader.buffered(), refused.size());  // nothing taken
  }

  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 3, "reply");
  AppendRawFrame(&bytes, FrameType::kStatus, 0, 3, "");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 7, "next");
  FrameReader reader(kDefaultMaxFrameSize);
  Put(reader, absl::string_view(bytes).substr(0, bytes.size() - 20));
  FrameReader::Frame frame;
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload, "reply");
  // Only part of the STATUS frame's header is in: not taken yet.
  EXPECT_FALSE(reader.TakeEmptyFrame(status, 3));
  Put(reader, absl::string_view(bytes).substr(bytes.size() - 20));
  EXPECT_TRUE(reader.TakeEmptyFrame(status, 3));
  // The reader goes on after it.
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.header.stream_id, 7u);
  EXPECT_EQ(frame.payload, "next");
  EXPECT_FALSE(reader.TakeEmptyFrame(status, 7));
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReaderTest, TakeFrameIfTakesOnlyAWholeFrameOfItsTypeAndStream) {
  const uint8_t message = static_cast<uint8_t>(FrameType::kMessage);
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kHeaders, 0, 3, "call");
  AppendRawFrame(&bytes, FrameType::kMessage, kFlagEndStream, 3, "request");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 5, std::string(100, 'x'));
  FrameReader reader(/*max_frame_size=*/64);
  // The HEADERS and all but the request's last byte.
  Put(reader, absl::string_view(bytes).substr(0, 2 * kFrameHeaderSize + 10));
  FrameReader::Frame frame;
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_FALSE(reader.TakeFrameIf(message, 3, &frame));  // not whole yet
  Put(reader, absl::string_view(bytes).substr(2 * kFrameHeaderSize + 10));
  EXPECT_FALSE(reader.TakeFrameIf(message, 5, &frame));  // another stream
  EXPECT_FALSE(reader.TakeFrameIf(static_cast<uint8_t>(FrameType::kStatus), 3,
                                  &frame));  // another type
  ASSERT_TRUE(reader.TakeFrameIf(message, 3, &frame));
  EXPECT_EQ(frame.header.stream_id, 3u);
  EXPECT_EQ(frame.header.flags, kFlagEndStream);
  EXPECT_EQ(frame.payload, "request");
  // Over the limit: left to Next(), which skips it.
  EXPECT_FALSE(reader.TakeFrameIf(message, 5, &frame));
  EXPECT_EQ(reader.Next(&frame, &error), FrameReader::Result::kOversized);
}

// Feeds `bytes` whole and returns the first complete frame.
FrameReader::Frame FeedOneFrame(FrameReader& reader, absl::string_view bytes) {
  absl::Span<char> space = reader.PrepareRead(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader.CommitRead(bytes.size());
  FrameReader::Frame frame;
  absl::Status error;
  EXPECT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  return frame;
}

TEST(FrameReaderTest, DetachingALargePayloadMovesTheBufferNotTheBytes) {
  BufferPool pool(4, 1 << 20);
  FrameReader reader(kDefaultMaxFrameSize, &pool);
  const std::string big(200 * 1024, 'b');
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, big);
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 3, "after");
  FrameReader::Frame frame = FeedOneFrame(reader, bytes);
  const char* payload_address = frame.payload.data();

  std::string holder;
  size_t offset = reader.DetachPayload(frame, &holder);
  EXPECT_EQ(holder.data() + offset, payload_address);  // not copied
  EXPECT_EQ(absl::string_view(holder.data() + offset, big.size()), big);
  // The bytes after the frame went on with the reader.
  EXPECT_EQ(reader.buffered(), kFrameHeaderSize + 5);
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload, "after");
  EXPECT_EQ(frame.header.stream_id, 3u);
}

TEST(FrameReaderTest, DetachingASmallPayloadCopiesIt) {
  FrameReader reader(kDefaultMaxFrameSize);
  std::string bytes;
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 1, "tiny");
  AppendRawFrame(&bytes, FrameType::kMessage, 0, 3, "next");
  FrameReader::Frame frame = FeedOneFrame(reader, bytes);
  std::string holder = "old contents";
  size_t offset = reader.DetachPayload(frame, &holder);
  EXPECT_EQ(holder.substr(offset, 4), "tiny");
  absl::Status error;
  ASSERT_EQ(reader.Next(&frame, &error), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.payload, "next");
}

TEST(FrameReaderTest, AnEmptyReaderHoldsNoMemoryAndLargeBuffersGoToThePool) {
  BufferPool pool(4, 4 << 20);
  {
    FrameReader reader(kDefaultMaxFrameSize, &pool);
    std::string bytes;
    AppendRawFrame(&bytes, FrameType::kMessage, 0, 1,
                   std::string(1 << 20, 'x'));
    (void)FeedOneFrame(reader, bytes);
    EXPECT_EQ(reader.buffered(), 0u);
    reader.EndReads();
    EXPECT_GE(pool.bytes_kept(), size_t{1} << 20);
    // The next large frame reuses the pooled buffer.
    (void)FeedOneFrame(reader, bytes);
    EXPECT_EQ(pool.bytes_kept(), 0u);
    reader.EndReads();
  }
  EXPECT_GE(pool.bytes_kept(), size_t{1} << 20);
  // A reader with unread bytes keeps them.
  FrameReader reader(kDefaultMaxFrameSize, &pool);
  std::string partial;
  AppendRawFrame(&partial, FrameType::kMessage, 0, 1, "half");
  partial.resize(partial.size() - 2);
  absl::Span<char> space = reader.PrepareRead();
  std::memcpy(space.data(), partial.data(), partial.size());
  reader.CommitRead(partial.size());
  reader.EndReads();
  EXPECT_EQ(reader.buffered(), partial.size());
}

}  // namespace
}  // namespace sockrpc
