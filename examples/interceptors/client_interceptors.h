// Two ClientInterceptors that show what interceptors are for, used by
// increment_client (--token, --verbose) and ready to copy. An example, not
// part of the sockrpc library: link sockrpc_example_client_interceptors.
//
// Thread-safe; borrowed by the Channel (they must outlive it).
#ifndef SOCKRPC_EXAMPLES_INTERCEPTORS_CLIENT_INTERCEPTORS_H_
#define SOCKRPC_EXAMPLES_INTERCEPTORS_CLIENT_INTERCEPTORS_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "sockrpc/client/interceptor.h"

namespace sockrpc {
namespace examples {

// BearerToken adds "authorization: Bearer <token>" to every call.
class BearerToken final : public ClientInterceptor {
 public:
  explicit BearerToken(std::string token)
      : value_(std::string("Bearer ") + token) {}

  absl::Status OnCallStart(absl::string_view method,
                           ClientContext& context) override {
    context.AddMetadata("authorization", value_);
    return absl::OkStatus();
  }

 private:
  const std::string value_;
};

// CallTimer reports each call's method, status and round-trip time, e.g.
//   /increment.Increment/Increment: OK in 52us
class CallTimer final : public ClientInterceptor {
 public:
  // `write` receives each line; it may be called concurrently.
  explicit CallTimer(std::function<void(absl::string_view line)> write)
      : write_(std::move(write)) {}

  void OnCallEnd(absl::string_view method, const ClientContext& context,
                 const absl::Status& status, absl::Duration elapsed) override;

 private:
  const std::function<void(absl::string_view)> write_;
};

}  // namespace examples
}  // namespace sockrpc

#endif  // SOCKRPC_EXAMPLES_INTERCEPTORS_CLIENT_INTERCEPTORS_H_
