// The command-line options of `sockrpc tap` and `sockrpc decode`, parsed by
// hand from the subcommand's own argv (the tool's other subcommands keep
// their flags to themselves). Internal to the tool.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TOOLS_CLI_INSPECT_FLAGS_H_
#define SOCKRPC_TOOLS_CLI_INSPECT_FLAGS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/cli/common_options.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {

struct InspectFlags {
  // tap
  std::string listen;
  std::string upstream;
  std::string save;
  // TLS: the tap's own certificate for clients that speak TLS to it
  // (--tls-cert, --tls-key), and TLS to the upstream (the call commands'
  // --tls, --cacert, --cert, --key, --server-name, --insecure).
  std::string tls_cert;
  std::string tls_key;
  TlsFlags upstream_tls;
  // decode
  std::vector<std::string> files;  // positional arguments
  std::string raw_client;
  std::string raw_server;
  std::string reflect;  // decode: ask this server for the schema
  // both
  std::vector<std::string> proto_files;
  std::vector<std::string> import_dirs;
  std::string protoset;
  bool json = false;
  std::string color = "auto";  // auto, always, never
  size_t max_bytes = 1024;
  bool help = false;
};

// Parses argv[1..argc) (argv[0] is the subcommand). INVALID_ARGUMENT names
// the bad argument. Accepts --flag VALUE, --flag=VALUE, -I DIR and -IDIR.
absl::StatusOr<InspectFlags> ParseInspectFlags(int argc, char** argv);

// The "Options:" section of `sockrpc tap --help` (`for_tap`) or of
// `sockrpc decode --help`.
std::string InspectOptionsHelp(bool for_tap);

// Whether text output should be coloured: --color, then NO_COLOR, then
// whether stdout is a terminal.
bool WantColor(const InspectFlags& flags);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_INSPECT_FLAGS_H_
