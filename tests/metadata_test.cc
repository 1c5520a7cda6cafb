#include "transport/metadata.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

TEST(MetadataTest, LowerCaseKeysWithDigitsDashUnderscoreDotAreValid) {
  EXPECT_TRUE(ValidateMetadataEntry("x-request-id", "abc").ok());
  EXPECT_TRUE(ValidateMetadataEntry("trace_id.v2", "1").ok());
  EXPECT_TRUE(ValidateMetadataEntry("a", "").ok());
}

TEST(MetadataTest, EmptyKeyIsRejected) {
  absl::Status status = ValidateMetadataEntry("", "value");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("empty"));
}

TEST(MetadataTest, UpperCaseKeyIsRejectedNamingTheKey) {
  absl::Status status = ValidateMetadataEntry("X-Request-Id", "abc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("X-Request-Id"));
}

TEST(MetadataTest, KeyWithSpaceColonOrSlashIsRejected) {
  EXPECT_FALSE(ValidateMetadataEntry("a b", "v").ok());
  EXPECT_FALSE(ValidateMetadataEntry(":path", "v").ok());
  EXPECT_FALSE(ValidateMetadataEntry("a/b", "v").ok());
  EXPECT_FALSE(ValidateMetadataEntry(std::string("a\0b", 3), "v").ok());
}

TEST(MetadataTest, PrintableAsciiValueIsValid) {
  std::string all;
  for (char c = 0x20; c <= 0x7e; ++c) all.push_back(c);
  EXPECT_TRUE(ValidateMetadataEntry("key", all).ok());
}

TEST(MetadataTest, ControlOrHighByteInTextValueIsRejectedNamingTheKey) {
  for (const std::string& value :
       {std::string("a\nb"), std::string("\x7f"), std::string("caf\xc3\xa9"),
        std::string("a\0b", 3)}) {
    absl::Status status = ValidateMetadataEntry("my-key", value);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("my-key"));
  }
}

TEST(MetadataTest, BinKeyAcceptsAnyBytes) {
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));
  EXPECT_TRUE(ValidateMetadataEntry("payload-bin", bytes).ok());
}

TEST(MetadataTest, BinSuffixMustEndTheKey) {
  EXPECT_FALSE(ValidateMetadataEntry("payload-bin-x", "\x01").ok());
  EXPECT_FALSE(ValidateMetadataEntry("payloadbin", "\x01").ok());
}

}  // namespace
}  // namespace sockrpc
