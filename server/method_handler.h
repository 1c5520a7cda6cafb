// MethodHandler: how the server runtime runs one method of a Service,
// whatever its message types.
//
// Service::Add*Method() (server/service.h) erases the types of the
// application's member functions into an internal::BlockingFunction and,
// for callback methods, an internal::CallbackFunction. A MethodHandler
// holds them with the method's message types (their default instances,
// which make new messages) and does the untyped rest: making, parsing and
// keeping the messages, reading a server-streaming call's request, sending
// a client-streaming call's reply.
//
// Thread-safety: one handler serves every call of its method at once; all
// its member functions are thread-safe.
//
// Internal: not installed, not part of the API.
#ifndef SOCKRPC_SERVER_METHOD_HANDLER_H_
#define SOCKRPC_SERVER_METHOD_HANDLER_H_

#include <cstddef>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "server/reuse_pool.h"
#include "server/server_callback.h"
#include "server/server_context.h"
#include "server/server_stream.h"
#include "server/service.h"

namespace sockrpc {
namespace internal {

// The request and reply of one call (null where the method's kind has
// none): a unary call's come warm from its method's pool (see ReusePool;
// a pair the pool makes holds none yet) and go back once it is done.
struct CallMessages {
  std::unique_ptr<google::protobuf::MessageLite> request;
  std::unique_ptr<google::protobuf::MessageLite> reply;
};

// CallbackCall: what a MethodHandler needs to start a callback call;
// implemented by the server runtime.
class CallbackCall {
 public:
  virtual CallbackServerContext* context() = 0;
  // The request's encoding (unary and server-streaming methods only);
  // valid until StartCallback() returns.
  virtual absl::string_view request() const = 0;
  // Keeps `messages` until the call is done. Their reply (unary and
  // client-streaming methods) is what Finish() with an OK status sends.
  virtual void Keep(std::unique_ptr<CallMessages> messages) = 0;
  virtual CallMessages* kept() = 0;
  // Runs the interceptors' OnRequest() on the parsed request.
  virtual absl::Status InterceptRequest(
      google::protobuf::MessageLite& request) = 0;

 protected:
  ~CallbackCall() = default;
};

class MethodHandler {
 public:
  // The outcome of a unary call: `reply` is non-null iff `status` is OK,
  // and is alive only during the call.
  using UnaryFinish = absl::FunctionRef<absl::Status(
      const google::protobuf::MessageLite* reply, absl::Status status)>;

  // `request_type` and `reply_type` outlive the handler (default
  // instances); `callback` is null for a blocking method.
  MethodHandler(RpcKind kind, const google::protobuf::MessageLite& request_type,
                const google::protobuf::MessageLite& reply_type,
                BlockingFunction blocking, CallbackFunction callback);
  MethodHandler(const MethodHandler&) = delete;
  MethodHandler& operator=(const MethodHandler&) = delete;

  // A new message of the method's reply type.
  std::unique_ptr<google::protobuf::MessageLite> NewReply() const {
    return std::unique_ptr<google::protobuf::MessageLite>(reply_type_.New());
  }

  // The call's interceptors' OnRequest() over a parsed request.
  using RequestHook =
      absl::FunctionRef<absl::Status(google::protobuf::MessageLite& request)>;

  // Unary methods: parses `request` (the request's encoding), passes it
  // to `on_request`, runs the handler if that returned OK, and passes the
  // outcome to `finish`; returns what `finish` returned.
  absl::Status RunUnary(ServerContext* context, absl::string_view request,
                        RequestHook on_request, UnaryFinish finish);
  // Streaming methods: runs the handler over `stream` and returns the
  // call's final status (a client-streaming reply is written already).
  absl::Status RunStream(ServerContext* context, ServerStream* stream);

  // Callback methods: starts the call on the calling thread, a server
  // thread that must not block, and returns the reactor the application's
  // handler returned; or null if that handler asked for the method's
  // blocking form, which the runtime then runs with RunBlocking() on a
  // thread that may block. The call keeps its messages (Keep()) either
  // way; RunBlocking() runs the handler on them.
  ServerReactorBase* StartCallback(CallbackCall* call);
  absl::Status RunBlocking(CallbackCall* call, ServerStream* stream);
  // Takes back a callback call's messages once it is done (after OnDone(),
  // or when it ends without a reactor): a unary pair small enough is kept
  // for a later call, as RunUnary() keeps its own.
  void ReleaseMessages(std::unique_ptr<CallMessages> messages);

 private:
  // Whether a unary call's messages are kept for a later call: not if
  // large (a kept message holds on to the memory of its contents).
  static bool WorthKeeping(size_t request_size, size_t reply_size) {
    return request_size <= kMaxKeptMessageSize &&
           reply_size <= kMaxKeptMessageSize;
  }
  // A unary call's pair, from kept_ (made if none is kept).
  std::unique_ptr<CallMessages> TakeUnaryMessages();
  // Puts a unary call's pair back in kept_, its reply cleared, unless its
  // messages' encodings (`request_size`, `reply_size`) are too large to
  // be worth keeping; then it is freed. (Inline: every blocking unary
  // call ends here.)
  void GiveBack(std::unique_ptr<CallMessages> messages, size_t request_size,
                size_t reply_size) {
    if (!WorthKeeping(request_size, reply_size)) return;  // freed
    messages->reply->Clear();  // (the request: its next parse clears it)
    kept_.Give(std::move(messages));
  }

  static constexpr size_t kMaxKeptMessageSize = 4096;
  // About the most calls of one method that run at once.
  static constexpr size_t kMaxKeptMessages = 16;

  const RpcKind kind_;
  const google::protobuf::MessageLite& request_type_;
  const google::protobuf::MessageLite& reply_type_;
  const BlockingFunction blocking_;
  const CallbackFunction callback_;
  // Unary calls' message pairs, the handler's always cleared.
  ReusePool<CallMessages> kept_{kMaxKeptMessages};
};

}  // namespace internal
}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_METHOD_HANDLER_H_
