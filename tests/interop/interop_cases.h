// The interop cases: each makes real calls to an interop_server and checks
// one behaviour of the runtime end to end. interop_client runs them by
// name. Test-only.
//
// Thread-safe: a case may run on any thread; cases share nothing but the
// server.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_CASES_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_CASES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/channel.h"

namespace sockrpc {
namespace interop {

// What every case needs to know.
struct CaseOptions {
  // The server's address (any form of transport/address.h).
  std::string target;
  // The request size of oversized_message: over the server's frame limit
  // (interop_server's default is 1 MiB) and within the client's (4 MiB).
  size_t oversized_size = 2u << 20;
  // Bounds every call a case makes, so a broken runtime fails the case with
  // DEADLINE_EXCEEDED instead of hanging it.
  absl::Duration call_timeout = absl::Seconds(10);
  // The options of the channels the cases make (TLS, for one).
  ChannelOptions channel_options;
};

// One case: OK if the behaviour held, otherwise an error saying what went
// wrong.
struct InteropCase {
  const char* name;     // e.g. "large_unary"
  const char* summary;  // one line, for --help and listings
  absl::Status (*run)(const CaseOptions& options);
};

// InteropCases lists every case, in the order `--case all` runs them.
const std::vector<InteropCase>& InteropCases();

// FindCase returns the case named `name`, or nullptr.
const InteropCase* FindCase(absl::string_view name);

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_CASES_H_
