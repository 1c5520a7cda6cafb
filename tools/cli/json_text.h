// Small helpers for the tool's JSON and hex output. Internal to the tool.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TOOLS_CLI_JSON_TEXT_H_
#define SOCKRPC_TOOLS_CLI_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sockrpc {
namespace cli {

// JsonQuote returns `text` as a JSON string literal, quotes included.
// Bytes that are not valid UTF-8 are written as \u00XX (each byte read as
// Latin-1), so the result is always valid JSON.
std::string JsonQuote(absl::string_view text);

// LowerHex returns the bytes as lower-case hex pairs with no separator.
std::string LowerHex(absl::string_view bytes);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_JSON_TEXT_H_
