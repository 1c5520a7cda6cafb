// What `sockrpc call` and `sockrpc tap` say of a file descriptor that came
// with a message (SCM_RIGHTS, docs/PROTOCOL.md section 16): its type from
// fstat(), its size for a regular file, and what /proc/self/fd says it is
// ("/memfd:report (deleted)", "pipe:[4242]", a path). Internal to the tool.
//
// Thread-safe: a pure function of the descriptor.
#ifndef SOCKRPC_TOOLS_CLI_FD_DESCRIPTION_H_
#define SOCKRPC_TOOLS_CLI_FD_DESCRIPTION_H_

#include <string>

namespace sockrpc {
namespace cli {

// "regular file, 12 bytes, /memfd:greeting (deleted)", "pipe, pipe:[4242]",
// "socket, socket:[77]", or "not open" for a descriptor that is not.
std::string DescribeFd(int fd);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_FD_DESCRIPTION_H_
