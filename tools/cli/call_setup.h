// What `sockrpc call` and `sockrpc bench` do before their first call: turn
// ADDR, METHOD and the shared options into a channel, a schema and the
// method, and read the one request of a method that takes one. Internal to
// tools/cli.
//
// Thread-compatible.
#ifndef SOCKRPC_TOOLS_CLI_CALL_SETUP_H_
#define SOCKRPC_TOOLS_CLI_CALL_SETUP_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "tools/cli/args.h"
#include "tools/cli/common_options.h"
#include "tools/cli/message_format.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {

// MethodArguments: the arguments ADDR METHOD [REQUEST] of the command line.
struct MethodArguments {
  std::string address;
  std::string method;                  // "package.Service/Method"
  std::optional<std::string> request;  // the text, or "-" for standard input
};

// ParseMethodArguments parses argv[1..argc) with `parser` (whose options
// are declared) into `*arguments`. Returns an exit code if the command
// should stop now: 0 after --help, 2 after a usage error.
std::optional<int> ParseMethodArguments(ArgParser& parser, int argc,
                                        char** argv,
                                        MethodArguments* arguments);

// MethodTarget: the method a command line names, ready to call.
struct MethodTarget {
  CallSettings settings;
  std::shared_ptr<Channel> channel;
  std::unique_ptr<Schema> schema;
  const google::protobuf::MethodDescriptor* method = nullptr;  // in *schema
  std::string wire_name;  // "/package.Service/Method"
};

// ResolveMethodTarget checks `common`, makes a channel to the address,
// loads the schema (from the server's reflection unless --proto or
// --protoset says otherwise) and finds the method in it. On failure it
// prints why and returns the exit code: 2 for a usage error (a bad option,
// address or method name, through `parser`), 1 when the schema cannot be
// loaded or lacks the method ("ERROR: CODE: message").
std::optional<int> ResolveMethodTarget(const ArgParser& parser,
                                       const CommonOptions& common,
                                       const MethodArguments& arguments,
                                       MethodTarget* target);

// TakeDataOption folds -d/--data (`data`, grpcurl's spelling: the request
// text, or "@" for standard input) into `*arguments`. Returns a usage
// error's exit code if REQUEST was given too.
std::optional<int> TakeDataOption(const ArgParser& parser,
                                  const std::string& data,
                                  MethodArguments* arguments);

// ReadSingleRequest returns the request for a method that takes one
// (unary or server-streaming): `text` parsed in `format`, all of standard
// input parsed when `text` is "-", or an empty message without `text`.
// INVALID_ARGUMENT for text that is not a valid request (a usage error);
// UNAVAILABLE when standard input cannot be read.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ReadSingleRequest(
    const MethodTarget& target, const std::optional<std::string>& text,
    MessageFormat format = MessageFormat::kJson);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_CALL_SETUP_H_
