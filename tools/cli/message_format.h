// MessageFormat: how `sockrpc call` reads requests and prints replies,
// protobuf's JSON mapping (the default) or protobuf's text format
// (--format text, as grpcurl's -format text). Internal to tools/cli.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TOOLS_CLI_MESSAGE_FORMAT_H_
#define SOCKRPC_TOOLS_CLI_MESSAGE_FORMAT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sockrpc {
namespace cli {

enum class MessageFormat { kJson, kText };

// "json" or "text"; INVALID_ARGUMENT for anything else.
absl::StatusOr<MessageFormat> ParseMessageFormat(absl::string_view name);

// ParseMessage fills `message` from `text` in `format`. Unknown fields
// are an error. INVALID_ARGUMENT names the message type and the problem.
absl::Status ParseMessage(MessageFormat format, absl::string_view text,
                          google::protobuf::Message* message);

// PrintMessage renders `message` on one line in `format`. With
// `emit_defaults` (JSON only), fields holding their default value too.
absl::StatusOr<std::string> PrintMessage(
    MessageFormat format, const google::protobuf::Message& message,
    bool emit_defaults);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_MESSAGE_FORMAT_H_
