// What `sockrpc health` and `sockrpc stats` do before their first call:
// check --connect-timeout, --timeout and -H, block the stop signals when
// they --watch (before the channel starts any thread, so that every thread
// inherits the mask), and make the channel. Internal to tools/cli.
//
// Thread-compatible.
#ifndef SOCKRPC_TOOLS_CLI_PROBE_SETUP_H_
#define SOCKRPC_TOOLS_CLI_PROBE_SETUP_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/channel.h"
#include "tools/cli/args.h"
#include "tools/cli/common_options.h"
#include "tools/cli/stop_signals.h"
#include "transport/metadata.h"

namespace sockrpc {
namespace cli {

// The options as typed.
struct ProbeFlags {
  std::string connect_timeout;
  std::string timeout;
  std::vector<std::string> headers;
  bool watch = false;
  TlsFlags tls;  // AddTlsOptions()
};

// What they become.
struct Probe {
  absl::Duration timeout;
  Metadata metadata;
  std::optional<StopSignals> stop;  // with --watch
  std::shared_ptr<Channel> channel;
};

// Sets up `*probe` for the server at `address`. Returns the exit code if
// the command must stop: 2 for a usage error (through `parser`), 1 when
// the stop signals cannot be blocked.
std::optional<int> SetUpProbe(const ArgParser& parser,
                              const std::string& address,
                              const ProbeFlags& flags, Probe* probe);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_PROBE_SETUP_H_
