// Helpers shared by the hardening tests (access, limits, faults, load):
// starting the real server binaries with any flags, building the raw
// frames of interop calls, and looking at a server process from outside
// (its open sockets). Test-only.
//
// Thread-safe: free functions.
#ifndef SOCKRPC_TESTS_HARDENING_HARDENING_TESTING_H_
#define SOCKRPC_TESTS_HARDENING_HARDENING_TESTING_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_calls.h"  // kIncrementMethod
#include "tests/testing/increment_server.h"
#include "tests/testing/raw_connection.h"
#include "transport/fd.h"

namespace sockrpc {
namespace testing {

// Bounds one exchange with a server, which normally takes microseconds.
inline constexpr absl::Duration kIoTimeout = absl::Seconds(10);

inline constexpr char kUnaryCallMethod[] =
    "/sockrpc.interop.InteropTest/UnaryCall";
inline constexpr char kEmptyCallMethod[] =
    "/sockrpc.interop.InteropTest/EmptyCall";
inline constexpr char kSleepCallMethod[] =
    "/sockrpc.interop.InteropTest/SleepCall";
inline constexpr char kStreamingInputMethod[] =
    "/sockrpc.interop.InteropTest/StreamingInputCall";
inline constexpr char kStreamingOutputMethod[] =
    "/sockrpc.interop.InteropTest/StreamingOutputCall";

// StartServerBinary starts the sockrpc server binary `name` (for example
// "interop_server") with --listen `listen_address` plus `flags`, and
// returns once it has printed "server waiting".
absl::StatusOr<StartedServer> StartServerBinary(
    absl::string_view name, absl::string_view listen_address,
    const std::vector<std::string>& flags = {});

// StartServerWithFdLimit is StartServerBinary under `ulimit -n fd_limit`.
absl::StatusOr<StartedServer> StartServerWithFdLimit(
    int fd_limit, absl::string_view name, absl::string_view listen_address,
    const std::vector<std::string>& flags = {});

// The connection preface.
std::string Preface();

// A HEADERS frame opening `stream_id` for `method` with request metadata
// of one entry `key`: `value` (none if `key` is empty).
std::string HeadersFrameWithMetadata(uint32_t stream_id,
                                     absl::string_view method,
                                     absl::string_view key,
                                     absl::string_view value);

// A MESSAGE frame on `stream_id` carrying `message`, with END_STREAM.
std::string RequestFrame(uint32_t stream_id,
                         const google::protobuf::MessageLite& message);

// Reads frames of `stream_id` until its STATUS and returns that status;
// `*message_bytes` gets the payload bytes of its MESSAGE frames.
absl::Status ReadStreamOutcome(RawConnection* connection, uint32_t stream_id,
                               absl::Duration timeout, size_t* message_bytes);

// OpenSockets counts the sockets process `pid` holds open.
absl::StatusOr<int> OpenSockets(pid_t pid);

// WaitForOpenSockets waits until process `pid` holds exactly `count`
// sockets; the last count seen is in the error.
absl::Status WaitForOpenSockets(pid_t pid, int count, absl::Duration timeout);

// RunHardeningClient runs hardening_client with `args` to completion
// (bounded by kProcessTimeout).
absl::StatusOr<ClientRun> RunHardeningClient(
    const std::vector<std::string>& args);

// IncrementOnce makes one Increment call ("A") on a fresh channel to
// `address`; OK if the reply is "B".
absl::Status IncrementOnce(absl::string_view address);

// A loopback TCP port where nothing answers, as a host that drops packets
// or a server that hangs.
struct SilentPort {
  enum Kind {
    // Its listener's accept queue (backlog 0) holds one connection that is
    // never accepted, so the kernel drops every further SYN: a connect()
    // waits until its deadline.
    kDropsConnections,
    // Connections complete (the kernel queues them) but are never
    // accepted: nothing is read or written on them.
    kTakesConnections,
  };
  Fd listener;
  Fd queued;  // kDropsConnections: the connection its queue holds
  int port = 0;
};
absl::StatusOr<SilentPort> OpenSilentPort(SilentPort::Kind kind);

// The threads of this process named `name` (/proc/self/task/*/comm); -1
// if they cannot be listed.
int ThreadsNamed(absl::string_view name);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_HARDENING_HARDENING_TESTING_H_
