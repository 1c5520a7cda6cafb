// sockrpc conformance --client: checks clients instead of a server (see
// StrictRelay). Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_CONFORMANCE_CLIENT_H_
#define SOCKRPC_TOOLS_CLI_CONFORMANCE_CLIENT_H_

#include <cstdint>
#include <string>

namespace sockrpc {
namespace cli {

// Serves at `listen` as a strict server in front of `upstream` until
// SIGINT or SIGTERM, then prints the client checks' results (as JSON if
// `json`). `max_frame_size` and `max_metadata_size` are the client's own
// limits. Returns the exit status: 0 if no check failed, 1 if one did, if
// no client connection was judged, or if the upstream could not be
// reached; 2 on a bad address.
int RunClientChecks(const std::string& listen, const std::string& upstream,
                    uint32_t max_frame_size, uint32_t max_metadata_size,
                    bool json);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_CONFORMANCE_CLIENT_H_
