// Round trips through the tap's capture files: what PcapngWriter records,
// CaptureReader gives back -- connections, directions, bytes (including
// payloads split over many TCP segments), times and comments -- and a
// damaged file yields the records before the damage, then DATA_LOSS.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tools/cli/capture_format.h"
#include "tools/cli/pcapng_reader.h"
#include "tools/cli/pcapng_writer.h"

namespace sockrpc {
namespace cli {
namespace {

using Kind = CaptureRecord::Kind;

std::vector<CaptureRecord> ReadAll(const std::string& path,
                                   absl::Status* final_status) {
  std::vector<CaptureRecord> records;
  absl::StatusOr<std::unique_ptr<CaptureReader>> reader =
      CaptureReader::Open(path);
  if (!reader.ok()) {
    *final_status = reader.status();
    return records;
  }
  CaptureRecord record;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&record);
    if (!more.ok()) {
      *final_status = more.status();
      return records;
    }
    if (!*more) break;
    records.push_back(record);
  }
  *final_status = absl::OkStatus();
  return records;
}

TEST(TapPcapngTest, WriterAndReaderRoundTrip) {
  testing::TempDir dir;
  const std::string path = dir.File("cap.pcapng");
  const absl::Time t0 = absl::FromUnixMicros(1700000000123456);
  std::string big(200000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  {
    absl::StatusOr<std::unique_ptr<PcapngWriter>> writer =
        PcapngWriter::Create(path, "test capture");
    ASSERT_TRUE(writer.ok()) << writer.status();
    PcapngWriter& w = **writer;
    ASSERT_TRUE(w.Open(1, t0, "client one").ok());
    ASSERT_TRUE(w.Open(0x1000002, t0, "client two").ok());
    ASSERT_TRUE(w.Data(1, Direction::kClientToServer, t0, "hello").ok());
    ASSERT_TRUE(w.Data(0x1000002, Direction::kClientToServer,
                       t0 + absl::Microseconds(1), big)
                    .ok());
    ASSERT_TRUE(w.Data(1, Direction::kServerToClient,
                       t0 + absl::Microseconds(2), "world")
                    .ok());
    ASSERT_TRUE(w.End(1, Direction::kClientToServer, t0, "").ok());
    ASSERT_TRUE(
        w.End(0x1000002, Direction::kServerToClient, t0, "reset by peer").ok());
  }
  absl::Status status;
  std::vector<CaptureRecord> records = ReadAll(path, &status);
  ASSERT_TRUE(status.ok()) << status;

  std::string big_back;
  std::vector<CaptureRecord> others;
  for (const CaptureRecord& record : records) {
    if (record.connection == 0x1000002 && record.kind == Kind::kData) {
      big_back += record.bytes;
      EXPECT_LE(record.bytes.size(), kMaxSegmentPayload);
    } else {
      others.push_back(record);
    }
  }
  EXPECT_EQ(big_back, big);
  ASSERT_EQ(others.size(), 6u);
  EXPECT_EQ(others[0].kind, Kind::kOpen);
  EXPECT_EQ(others[0].connection, 1u);
  EXPECT_EQ(others[0].text, "client one");
  EXPECT_EQ(others[0].time, t0);
  EXPECT_EQ(others[1].kind, Kind::kOpen);
  EXPECT_EQ(others[1].connection, 0x1000002u);
  EXPECT_EQ(others[2].bytes, "hello");
  EXPECT_EQ(others[2].direction, Direction::kClientToServer);
  EXPECT_EQ(others[3].bytes, "world");
  EXPECT_EQ(others[3].direction, Direction::kServerToClient);
  EXPECT_EQ(others[3].time, t0 + absl::Microseconds(2));
  EXPECT_EQ(others[4].kind, Kind::kEnd);
  EXPECT_EQ(others[4].text, "");
  EXPECT_EQ(others[5].kind, Kind::kEnd);
  EXPECT_EQ(others[5].direction, Direction::kServerToClient);
  EXPECT_EQ(others[5].text, "reset by peer");
}

TEST(TapPcapngTest, DamagedFileGivesTheRecordsBeforeTheDamage) {
  testing::TempDir dir;
  const std::string path = dir.File("cap.pcapng");
  {
    auto writer = PcapngWriter::Create(path, "");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Open(1, absl::UnixEpoch(), "c").ok());
    ASSERT_TRUE((*writer)->Data(1, Direction::kClientToServer,
                                absl::UnixEpoch(), "first")
                    .ok());
    ASSERT_TRUE((*writer)->Data(1, Direction::kClientToServer,
                                absl::UnixEpoch(), "second")
                    .ok());
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  absl::Status status;
  std::vector<CaptureRecord> records = ReadAll(path, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "capture damaged at byte"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].bytes, "first");
}

TEST(TapPcapngTest, TimesOfAFineGrainedClockAreExact) {
  // An interface may count time in ticks of up to 2^-60 s (if_tsresol);
  // the fraction of a second then needs more than 64 bits to scale.
  testing::TempDir dir;
  const std::string path = dir.File("cap.pcapng");
  const int64_t ticks = int64_t{3} << 59;  // 1.5 s at 2^60 ticks/s
  {
    auto writer = PcapngWriter::Create(path, "");
    ASSERT_TRUE(writer.ok());
    // The writer counts microseconds: this time writes `ticks` as-is.
    ASSERT_TRUE(
        (*writer)->Open(1, absl::FromUnixMicros(ticks), "fine clock").ok());
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The interface's if_tsresol option (code 9, length 1, host order):
  // microseconds (6) becomes 2^60 ticks per second (0x80 | 60).
  const std::string microseconds("\x09\x00\x01\x00\x06", 5);
  const size_t option = bytes.find(microseconds);
  ASSERT_NE(option, std::string::npos);
  bytes[option + 4] = static_cast<char>(0x80 | 60);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  absl::Status status;
  std::vector<CaptureRecord> records = ReadAll(path, &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].kind, Kind::kOpen);
  EXPECT_EQ(records[0].time, absl::UnixEpoch() + absl::Milliseconds(1500));
}

// The writer's packets are exported PDUs for the "sockrpc" dissector, each
// naming it and carrying the synthetic addresses and TCP fields.
TEST(TapPcapngTest, WriterUsesExportedPdusForTheSockrpcDissector) {
  testing::TempDir dir;
  const std::string path = dir.File("cap.pcapng");
  {
    auto writer = PcapngWriter::Create(path, "");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Open(1, absl::UnixEpoch(), "c").ok());
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  // The interface block's link type, then the first packet's first tag.
  const size_t shb_size =
      static_cast<uint8_t>(bytes[4]) | (static_cast<uint8_t>(bytes[5]) << 8);
  ASSERT_GT(bytes.size(), shb_size + 10);
  EXPECT_EQ(static_cast<uint8_t>(bytes[shb_size + 8]), kLinkTypeUpperPdu);
  EXPECT_TRUE(
      absl::StrContains(bytes, std::string("\x00\x0c\x00\x07sockrpc", 11)));
}

// Captures written before the exported-PDU format (Ethernet/IPv4/TCP, by
// the tap of sockrpc 0.x; tests/golden/tap_capture_ethernet.pcapng holds
// one increment call) still read back.
TEST(TapPcapngTest, ReadsTheOlderEthernetCaptures) {
  absl::Status status;
  std::vector<CaptureRecord> records = ReadAll(
      SOCKRPC_SOURCE_DIR "/tests/golden/tap_capture_ethernet.pcapng", &status);
  ASSERT_TRUE(status.ok()) << status;
  std::string client, server;
  int ends = 0;
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].kind, Kind::kOpen);
  EXPECT_TRUE(absl::StartsWith(records[0].text, "client pid "))
      << records[0].text;
  for (const CaptureRecord& record : records) {
    EXPECT_EQ(record.connection, 1u);
    if (record.kind == Kind::kEnd) ++ends;
    if (record.kind != Kind::kData) continue;
    (record.direction == Direction::kClientToServer ? client : server) +=
        record.bytes;
  }
  EXPECT_EQ(ends, 2);
  EXPECT_EQ(client.size(), 72u);
  EXPECT_EQ(server.size(), 35u);
  EXPECT_TRUE(absl::StartsWith(client, "SOCKRPC\x01"));
  EXPECT_TRUE(absl::StrContains(client, "/increment.Increment/Increment"));
}

TEST(TapPcapngTest, NotAPcapngFileIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.File("text.txt");
  std::ofstream(path) << "just some text\n";
  absl::Status status;
  ReadAll(path, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace cli
}  // namespace sockrpc
