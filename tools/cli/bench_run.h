// The load generator of `sockrpc bench`: worker threads that call one
// method back to back over a few channels, until a number of calls is
// reached, a duration has passed, or SIGINT/SIGTERM arrives. Internal to
// tools/cli.
//
// Each worker is a thread making blocking calls, one at a time; the client
// library lets a blocked caller read the connection for every call on it,
// so replies reach the workers with no other thread in between. A worker
// records into its own BenchResult (no lock shared with other workers per
// call); the results are merged at the end.
//
// Thread-compatible: one run at a time, from one thread.
#ifndef SOCKRPC_TOOLS_CLI_BENCH_RUN_H_
#define SOCKRPC_TOOLS_CLI_BENCH_RUN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "google/protobuf/message.h"
#include "tools/cli/bench_result.h"
#include "tools/cli/common_options.h"
#include "tools/cli/stop_signals.h"

namespace sockrpc {
namespace cli {

// LoadPlan: what to call, how hard, and for how long. The pointers are
// borrowed and must outlive WarmUp() and RunLoad().
struct LoadPlan {
  std::string method;  // "/package.Service/Method"
  // A server-streaming method: each call reads every reply, and counts
  // them. Otherwise the method is unary.
  bool server_streaming = false;
  // The request every call sends, encoded (it is encoded once, and each
  // call sends these bytes), and an empty reply, whose New() each worker
  // reads replies into (so that replies are parsed, as a real client
  // would).
  std::string request;
  const google::protobuf::Message* reply_type = nullptr;
  // Metadata and deadline, applied to each call's fresh context.
  const CallSettings* settings = nullptr;
  // The connections; worker i calls through channels[i % channels.size()].
  std::vector<std::shared_ptr<Channel>> channels;
  int concurrency = 1;  // workers, at least channels.size()
  // When to stop: after `total` calls, after `duration`, whichever comes
  // first. At least one must be set.
  std::optional<uint64_t> total;
  std::optional<absl::Duration> duration;
  // With `rps`, calls start at that rate in all, evenly paced: call k (from
  // 0, whichever worker makes it) is due k/rps seconds after the start,
  // and no worker starts a call before it is due. Workers that fall behind
  // start the calls due as soon as they are free: the rate is a ceiling.
  std::optional<uint64_t> rps;
};

// Connect opens each of the plan's channels before the run, so that
// connecting is not measured: it calls a method that no server has
// (kProbeMethod), which the server's runtime refuses at once with
// UNIMPLEMENTED, before any handler or interceptor, whatever the tested
// method does. Returns UNAVAILABLE if the server cannot be reached, and
// DEADLINE_EXCEEDED if it does not answer within the plan's deadline.
absl::Status Connect(const LoadPlan& plan);

// The method Connect() calls.
inline constexpr char kProbeMethod[] = "/sockrpc.bench.ConnectProbe/Probe";

// RunLoad runs the plan and returns the merged result. A stop signal
// pending on `signals` ends the run early. Calls still in flight when the
// run stops (by duration or signal) are cancelled and not counted. Errors:
// only a failure to set the run up (file descriptors, threads).
absl::StatusOr<BenchResult> RunLoad(const LoadPlan& plan,
                                    const StopSignals& signals);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_BENCH_RUN_H_
