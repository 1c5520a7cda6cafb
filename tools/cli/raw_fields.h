// RawFieldsText renders protobuf bytes without a schema, in the manner of
// `protoc --decode_raw` but on one line: field numbers and values, with
// length-delimited fields shown as text, as a nested message, or as escaped
// bytes, whichever fits. Internal to the tool.
//
// Thread-safe: a pure function.
#ifndef SOCKRPC_TOOLS_CLI_RAW_FIELDS_H_
#define SOCKRPC_TOOLS_CLI_RAW_FIELDS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sockrpc {
namespace cli {

// Returns the fields of `bytes`, for example `1: "A" 2: 150 3 { 1: 7 }`,
// or nullopt if `bytes` is not valid protobuf wire data. Empty bytes give
// "" (a message whose fields are all default).
std::optional<std::string> RawFieldsText(absl::string_view bytes);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_RAW_FIELDS_H_
