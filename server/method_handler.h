// MethodHandler and UnaryResponder: how the server runtime runs one method
// of a Service, and how a unary handler reports its outcome.
//
// Internal: the interface between the server runtime and the method
// handlers that Service::Add*Method() make (server/service.h,
// server/callback_handlers.h). Installed only because those are templates
// that generated code instantiates; not part of the API, and it may change
// in any release.
#ifndef SOCKRPC_SERVER_METHOD_HANDLER_H_
#define SOCKRPC_SERVER_METHOD_HANDLER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "sockrpc/server/server_callback.h"
#include "sockrpc/server/server_context.h"
#include "sockrpc/server/server_stream.h"

namespace sockrpc {
namespace internal {

// UnaryResponder receives the outcome of one unary handler call.
class UnaryResponder {
 public:
  virtual ~UnaryResponder() = default;
  // Called exactly once. `reply` is non-null iff `status` is OK, and is
  // borrowed for the duration of this call only.
  virtual void Finish(const google::protobuf::MessageLite* reply,
                      const absl::Status& status) = 0;
};

// MethodHandler runs one method of a service on the calling thread.
class MethodHandler {
 public:
  virtual ~MethodHandler() = default;
  // Unary methods: parses `request` (the request's protobuf encoding), runs
  // the handler, and reports the outcome to `responder`.
  virtual void RunUnary(ServerContext* context, absl::string_view request,
                        UnaryResponder* responder) {
    responder->Finish(nullptr, absl::InternalError("not a unary method"));
  }
  // Streaming methods: runs the handler over `stream` and returns the
  // call's final status.
  virtual absl::Status RunStream(ServerContext* context, ServerStream* stream) {
    return absl::InternalError("not a streaming method");
  }
  // Callback methods (Service::AddCallback*Method): starts the call on the
  // calling thread, a server thread that must not block, and returns the
  // reactor the application's handler returned; or null if that handler
  // asked for the method's blocking form, which the runtime then runs
  // with RunBlocking() on a thread that may block.
  virtual internal::ServerReactorBase* StartCallback(
      internal::CallbackCall* call) {
    return nullptr;
  }
  virtual absl::Status RunBlocking(internal::CallbackCall* call,
                                   ServerStream* stream) {
    return absl::InternalError("no blocking form");
  }
};

}  // namespace internal
}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_METHOD_HANDLER_H_
