// ClientInterceptor: hooks that see every call made through a Channel, for
// logging, authentication and metrics without touching generated code.
//
// Interceptors are listed in ChannelOptions::interceptors and borrowed:
// they must outlive the Channel. OnCallStart runs in list order before the
// call is sent; OnCallEnd in reverse order when the call's status is known.
// Both run on the application's thread that starts or ends the call: the
// one in a blocking stub method, or the one calling Finish()/Get() (or
// destroying the call object). A call of the callback API (and a
// UnaryFuture given Then()) ends on the channel's event loop thread:
// OnCallEnd runs there, right before OnDone() (OnCallStart runs in
// StartCall()). Calls on different threads run them concurrently, so
// implementations must be thread-safe (and OnCallEnd must not block).
#ifndef SOCKRPC_CLIENT_INTERCEPTOR_H_
#define SOCKRPC_CLIENT_INTERCEPTOR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sockrpc/client/client_context.h"

namespace sockrpc {

class ClientInterceptor {
 public:
  virtual ~ClientInterceptor() = default;

  // Called before the call of `method` ("/package.Service/Method") is sent;
  // may add request metadata to `context` or change its deadline. A non-OK
  // status fails the call with it before anything is sent: later
  // interceptors are not called at all, and OnCallEnd runs for this one and
  // the ones before it.
  virtual absl::Status OnCallStart(absl::string_view method,
                                   ClientContext& context) {
    return absl::OkStatus();
  }

  // Called once the call ended with `status`, `elapsed` after it started;
  // `context` holds the server's initial and trailing metadata.
  virtual void OnCallEnd(absl::string_view method,
                         const ClientContext& context,
                         const absl::Status& status, absl::Duration elapsed) {
  }
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_INTERCEPTOR_H_
