// ServerInterceptors that show what interceptors are for, used by
// increment_server (--log_calls, --require_token) and interop_server
// (--log_calls, --redact_errors), and ready to copy. An
// example, not part of the sockrpc library: link
// sockrpc_example_server_interceptors.
//
// Thread-safe; borrowed by the Server (they must outlive it).
#ifndef SOCKRPC_EXAMPLES_INTERCEPTORS_SERVER_INTERCEPTORS_H_
#define SOCKRPC_EXAMPLES_INTERCEPTORS_SERVER_INTERCEPTORS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "sockrpc/server/interceptor.h"

namespace sockrpc {
namespace examples {

// CallLogger writes one line per finished call: method, peer, status and
// how long it took, e.g.
//   call /increment.Increment/Increment from unix:sock: OK in 41us
class CallLogger final : public ServerInterceptor {
 public:
  // `write` receives each line; it is called concurrently.
  explicit CallLogger(std::function<void(absl::string_view line)> write)
      : write_(std::move(write)) {}

  void OnCallEnd(const ServerContext& context, const absl::Status& status,
                 absl::Duration elapsed) override;

 private:
  const std::function<void(absl::string_view)> write_;
};

// TokenAuthenticator admits only calls whose "authorization" metadata is
// "Bearer <token>"; others end with UNAUTHENTICATED before any handler runs.
class TokenAuthenticator final : public ServerInterceptor {
 public:
  explicit TokenAuthenticator(std::string token)
      : expected_(std::string("Bearer ") + token) {}

  absl::Status OnCallStart(ServerContext& context) override;

 private:
  const std::string expected_;
};

// ErrorRedactor keeps a server's internal details from its clients: a call
// that ends with INTERNAL, UNKNOWN or DATA_LOSS reaches the client with the
// same code but the message "internal error (ref N)" and trailing metadata
// "error-ref: N"; the original status is written, with the same N, to the
// server's log, e.g.
//   error ref 3: /pkg.Service/Method from unix:sock: INTERNAL: disk full
class ErrorRedactor final : public ServerInterceptor {
 public:
  // `write` receives each line; it is called concurrently.
  explicit ErrorRedactor(std::function<void(absl::string_view line)> write)
      : write_(std::move(write)) {}

  void OnStatus(ServerContext& context, absl::Status& status) override;

 private:
  const std::function<void(absl::string_view)> write_;
  std::atomic<uint64_t> next_reference_{1};
};

}  // namespace examples
}  // namespace sockrpc

#endif  // SOCKRPC_EXAMPLES_INTERCEPTORS_SERVER_INTERCEPTORS_H_
