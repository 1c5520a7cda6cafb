#include "tools/cli/json_text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace sockrpc {
namespace cli {
namespace {

// Length of the valid UTF-8 sequence at bytes[i] (a non-ASCII lead byte),
// or 0 if it is not one.
size_t Utf8SequenceLength(absl::string_view bytes, size_t i) {
  const auto lead = static_cast<unsigned char>(bytes[i]);
  size_t length = lead >= 0xF0 && lead <= 0xF4   ? 4
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC2 && lead <= 0xDF ? 2
                                                 : 0;
  if (length == 0 || i + length > bytes.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(text, i);
      if (length > 0) {
        out.append(text.data() + i, length);
        i += length;
      } else {
        absl::StrAppendFormat(&out, "\\u%04x", c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

std::string LowerHex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

}  // namespace cli
}  // namespace sockrpc
