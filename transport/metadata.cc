#include "transport/metadata.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool IsPrintable(char c) { return c >= 0x20 && c <= 0x7e; }

}  // namespace

absl::Status ValidateMetadataEntry(absl::string_view key,
                                   absl::string_view value) {
  if (key.empty()) {
    return absl::InvalidArgumentError("metadata key is empty");
  }
  for (char c : key) {
    if (!IsKeyChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata key \"", absl::CHexEscape(key),
          "\" has a character other than lower-case ASCII letters, digits, "
          "'-', '_' and '.'"));
    }
  }
  if (absl::EndsWith(key, "-bin")) return absl::OkStatus();  // any bytes
  for (char c : value) {
    if (!IsPrintable(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata value for key \"", key,
          "\" is not printable ASCII (0x20-0x7e); use a key ending in "
          "\"-bin\" for binary values"));
    }
  }
  return absl::OkStatus();
}

size_t MetadataSize(const Metadata& metadata) {
  size_t size = 0;
  for (const auto& [key, value] : metadata) size += key.size() + value.size();
  return size;
}

absl::Status ValidateMetadata(const Metadata& metadata, size_t max_size) {
  for (const auto& [key, value] : metadata) {
    absl::Status valid = ValidateMetadataEntry(key, value);
    if (!valid.ok()) return valid;
  }
  size_t size = MetadataSize(metadata);
  if (size > max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("metadata of ", size, " bytes exceeds the limit of ",
                     max_size, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace sockrpc
