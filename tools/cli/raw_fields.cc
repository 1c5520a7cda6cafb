#include "tools/cli/raw_fields.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/unknown_field_set.h"

namespace sockrpc {
namespace cli {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// Nested messages deeper than this are shown as bytes: bounds the work an
// adversarial payload can cause.
constexpr int kMaxDepth = 16;

// True if `bytes` reads as text: valid UTF-8 with no control characters
// other than tab and newline.
bool LooksLikeText(absl::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n') return false;
      if (c == 0x7F) return false;
      ++i;
      continue;
    }
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : -1;
    if (extra < 0 || c > 0xF4 || i + extra >= bytes.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

void AppendFields(const UnknownFieldSet& fields, int depth, std::string* out);

// Writes "N: \"text\"", "N { nested }" or "N: \"\x01bytes\"".
void AppendLengthDelimited(int number, absl::string_view bytes, int depth,
                           std::string* out) {
  if (!bytes.empty() && LooksLikeText(bytes)) {
    absl::StrAppend(out, number, ": \"", absl::Utf8SafeCEscape(bytes), "\"");
    return;
  }
  if (!bytes.empty() && depth < kMaxDepth) {
    UnknownFieldSet nested;
    if (nested.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
        !nested.empty()) {
      absl::StrAppend(out, number, " { ");
      AppendFields(nested, depth + 1, out);
      out->append(" }");
      return;
    }
  }
  absl::StrAppend(out, number, ": \"", absl::CHexEscape(bytes), "\"");
}

void AppendFields(const UnknownFieldSet& fields, int depth, std::string* out) {
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (i > 0) out->append(" ");
    switch (field.type()) {
      case UnknownField::TYPE_VARINT:
        absl::StrAppend(out, field.number(), ": ", field.varint());
        break;
      case UnknownField::TYPE_FIXED32:
        absl::StrAppend(out, field.number(), ": ",
                        absl::StrFormat("0x%08x", field.fixed32()));
        break;
      case UnknownField::TYPE_FIXED64:
        absl::StrAppend(out, field.number(), ": ",
                        absl::StrFormat("0x%016x", field.fixed64()));
        break;
      case UnknownField::TYPE_LENGTH_DELIMITED:
        AppendLengthDelimited(field.number(), field.length_delimited(), depth,
                              out);
        break;
      case UnknownField::TYPE_GROUP:
        absl::StrAppend(out, field.number(), " { ");
        AppendFields(field.group(), depth + 1, out);
        out->append(" }");
        break;
    }
  }
}

}  // namespace

std::optional<std::string> RawFieldsText(absl::string_view bytes) {
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::nullopt;
  }
  std::string out;
  AppendFields(fields, 0, &out);
  return out;
}

}  // namespace cli
}  // namespace sockrpc
