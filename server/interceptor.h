// ServerInterceptor: hooks that see every call a server serves, for
// logging, authentication and metrics without touching generated code.
//
// Interceptors are listed in ServerOptions::interceptors and borrowed: they
// must outlive the Server. OnCallStart runs in list order before the
// handler; OnCallEnd in reverse order once the call's final status is
// known. Both run on server threads, concurrently for different calls, so
// implementations must be thread-safe.
#ifndef SOCKRPC_SERVER_INTERCEPTOR_H_
#define SOCKRPC_SERVER_INTERCEPTOR_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sockrpc/server/server_context.h"

namespace sockrpc {

class ServerInterceptor {
 public:
  virtual ~ServerInterceptor() = default;

  // Called before the handler runs, with the method, deadline, client
  // metadata and peer in `context`; may add response metadata. A non-OK
  // status ends the call with that status: the handler never runs, later
  // interceptors are not called at all, and OnCallEnd runs for this one and
  // the ones before it.
  virtual absl::Status OnCallStart(ServerContext& context) {
    return absl::OkStatus();
  }

  // Called once the call has ended with `status` (what the client is sent),
  // `elapsed` after it started.
  virtual void OnCallEnd(const ServerContext& context,
                         const absl::Status& status, absl::Duration elapsed) {}
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_INTERCEPTOR_H_
