// The client side of events.proto for the open-streams groups
// (open_streams.cc, full_pool.cc): method names for raw frames, a stub,
// and waits on the server's Stats. Internal to bench/.
#ifndef SOCKRPC_BENCH_EVENTS_CLIENT_H_
#define SOCKRPC_BENCH_EVENTS_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "events.sockrpc.pb.h"
#include "wire_load.h"

namespace sockrpc {
namespace bench {

// Full method names, for WireLoad::StartCall().
inline constexpr char kSubscribeMethod[] = "/sockrpc.bench.Events/Subscribe";
inline constexpr char kPublishMethod[] = "/sockrpc.bench.Events/Publish";
inline constexpr char kBlockMethod[] = "/sockrpc.bench.Events/Block";
inline constexpr char kStatsMethod[] = "/sockrpc.bench.Events/Stats";

// Bounds every wait of these groups; reached only when something is
// broken.
inline constexpr double kEventsTimeoutSeconds = 60;

// A stub on a channel of its own to `address`; null (message on stderr)
// if the channel cannot be made.
std::unique_ptr<Events::Stub> EventsStub(const std::string& address);

// One Stats call (counting `tag`'s blocking calls), with a 5 s deadline.
absl::StatusOr<StatsReply> GetStats(Events::Stub& stub,
                                    const std::string& tag = "");

// Calls Stats back to back until `ready(reply)`; false after
// `timeout_seconds` or on an error. *last: the last reply.
bool AwaitStats(Events::Stub& stub, const std::string& tag,
                absl::FunctionRef<bool(const StatsReply&)> ready,
                double timeout_seconds, StatsReply* last);

// Makes one Stats call on each of `load`'s connections and waits for
// every answer: the server then holds whatever a connection keeps once it
// has served a call. False (message on stderr) on a failure.
bool WarmUp(WireLoad& load);

// The first error any of `load`'s connections saw, for a message.
std::string FirstError(const WireLoad& load);

// "1.0, 2.5, 3.0"
std::string Join(const std::vector<double>& values);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_EVENTS_CLIENT_H_
