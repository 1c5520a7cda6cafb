// The options list, describe, call and bench share: where the schema comes
// from (--proto, -I, --protoset), request metadata (-H) and the deadline
// (--deadline), how long connecting may take (--connect-timeout), TLS
// (--tls, --cacert, --cert, --key, --server-name, --insecure); and how they
// report a failure. Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_
#define SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "tools/cli/args.h"
#include "tools/cli/schema.h"
#include "transport/metadata.h"

namespace sockrpc {
namespace cli {

// TlsFlags: TLS to a TCP server as typed: --tls (the system's roots), or
// any of --cacert, --cert with --key, --server-name, --insecure. Every
// command that calls a server takes them (AddTlsOptions()).
struct TlsFlags {
  bool tls = false;
  std::string cacert;
  std::string cert;
  std::string key;
  std::string server_name;
  bool insecure = false;
};

// Declares the TLS options in `parser`, filling `*flags`.
void AddTlsOptions(ArgParser* parser, TlsFlags* flags);

// The TLS settings the flags ask for (none: plain); INVALID_ARGUMENT for
// a bad combination.
absl::StatusOr<std::optional<TlsChannelOptions>> TlsOptionsOf(
    const TlsFlags& flags);

// CommonOptions: the shared options as typed on the command line.
struct CommonOptions {
  std::vector<std::string> proto_files;
  std::vector<std::string> import_dirs;
  std::string protoset;
  std::vector<std::string> headers;          // -H "key:value": every call
  std::vector<std::string> rpc_headers;      // --rpc-header: the method's
  std::vector<std::string> reflect_headers;  // --reflect-header: reflection
  std::string deadline;              // "2s", "500ms"; empty: none
  std::string connect_timeout = "10s";
  TlsFlags tls;
  // Not an option: the command's own say (`call` sets it) whether replies
  // may bring file descriptors; see CallSettings::accept_fds.
  bool accept_fds = false;
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
  // How long connecting may take, up to the server's preface.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Whether replies may bring file descriptors (unix sockets; `call` sets
  // it: ChannelOptions::max_fds_per_message at its limit).
  bool accept_fds = false;
  // TLS for TCP servers (unset: plain).
  std::optional<TlsChannelOptions> tls;

  // The options of the channels made to the server.
  ChannelOptions channel_options() const;

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

// True if `arg` is a server address rather than a symbol: every address
// form has a colon (unix:PATH, HOST:PORT, ...), no protobuf name has one.
// list and describe use it to tell `ADDR` from `SYMBOL` when --proto or
// --protoset makes ADDR optional.
bool LooksLikeAddress(absl::string_view arg);

// Prints "ERROR: CODE_NAME: message" to stderr and returns 1, the exit code
// of a failed operation.
int ReportFailure(const absl::Status& status);

// Parses `text`, the value of `option` (--timeout), as a positive duration
// ("1s", "500ms"); INVALID_ARGUMENT names the option.
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view option,
                                                     const std::string& text);

// Parses KEY:VALUE `headers`, as given with option `flag` (-H), into
// metadata: the key lower-cased, a -bin key's value decoded from base64.
// INVALID_ARGUMENT names the option and the bad header.
absl::StatusOr<Metadata> ParseHeaders(absl::string_view flag,
                                      const std::vector<std::string>& headers);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_COMMON_OPTIONS_H_
