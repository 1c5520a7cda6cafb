// The options list, describe and call share: where the schema comes from
// (--proto, -I, --protoset), request metadata (-H) and the deadline
// (--deadline); and how they report a failure. Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_
#define SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client_context.h"
#include "tools/cli/args.h"
#include "tools/cli/schema.h"
#include "transport/metadata.h"

namespace sockrpc {
namespace cli {

// CommonOptions: the shared options as typed on the command line.
struct CommonOptions {
  std::vector<std::string> proto_files;
  std::vector<std::string> import_dirs;
  std::string protoset;
  std::vector<std::string> headers;  // "key:value"
  std::string deadline;              // "2s", "500ms"; empty: none
};

// Declares the shared options in `parser`, filling `*options`.
// `deadline_default` says in --help what --deadline is when not given.
void AddCommonOptions(
    ArgParser* parser, CommonOptions* options,
    absl::string_view deadline_default =
        "no deadline for the call itself, 10s for reflection calls");

// CallSettings: the shared options, checked and converted.
struct CallSettings {
  SchemaOptions schema;
  Metadata metadata;
  absl::Duration deadline = absl::InfiniteDuration();

  // Applies the metadata and deadline to a call's context.
  void Apply(ClientContext* context) const;
  // True if the schema comes from the server (no --proto, no --protoset).
  bool uses_reflection() const {
    return schema.proto_files.empty() && schema.protoset.empty();
  }
};

// Checks `options` and converts them for a server at `address` (which may
// be empty when the schema comes from files and no call is made).
// INVALID_ARGUMENT describes a bad option.
absl::StatusOr<CallSettings> MakeCallSettings(const CommonOptions& options,
                                              absl::string_view address);

// Prints "ERROR: CODE_NAME: message" to stderr and returns 1, the exit code
// of a failed operation.
int ReportFailure(const absl::Status& status);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_
