// Helpers that call a running increment_server in process, through a
// sockrpc Channel and the generated Increment stub, for end-to-end tests.
// Test-only.
//
// Thread-safe: free functions. Failures are reported to GoogleTest
// (EXPECT/ASSERT) in the calling test.
#ifndef SOCKRPC_TESTS_TESTING_INCREMENT_CALLS_H_
#define SOCKRPC_TESTS_TESTING_INCREMENT_CALLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "increment.sockrpc.pb.h"

namespace sockrpc {
namespace testing {

// The full name of the Increment method, as it goes on the wire.
inline constexpr char kIncrementMethod[] = "/increment.Increment/Increment";

// Bounds a wait for one call or one reply that normally takes microseconds.
inline constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// MakeChannel creates a Channel to `target`; on failure it fails the test
// and returns nullptr.
std::shared_ptr<Channel> MakeChannel(const std::string& target,
                                     const ChannelOptions& options = {});

// One Increment call through the generated stub, bounded by kCallTimeout.
// Returns the reply's character. `stub` is only borrowed for the call.
absl::StatusOr<std::string> Increment(::increment::Increment::Stub& stub,
                                      const std::string& character);

// Expects the server (and so its connections) to still answer a fresh
// channel correctly.
void ExpectServes(const std::string& address);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_INCREMENT_CALLS_H_
