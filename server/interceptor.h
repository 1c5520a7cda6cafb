// ServerInterceptor: hooks around every call a server serves, for logging,
// authentication, validation, error mapping and metrics without touching
// generated code or handlers. They work alike for blocking and callback
// handlers.
//
// A call passes through the hooks like this (each may end the call with a
// status of its own, except the last):
//
//   OnCallStart ──> OnRequest (each request message, before the handler
//        │           sees it) ... OnReply (each reply message, before it is
//        │           sent) ... OnStatus (the status the call ends with,
//        │           before it is sent) ──> OnCallEnd (what was sent)
//        └─ refused: OnStatus, OnCallEnd
//
// Interceptors are listed in ServerOptions::interceptors and borrowed: they
// must outlive the Server. OnCallStart, OnRequest and OnReply run in list
// order; OnStatus and OnCallEnd in reverse order, and only for the
// interceptors whose OnCallStart ran. All run on server threads (a
// callback handler's reply hooks on the thread that calls StartWrite() or
// Finish()), concurrently for different calls, so implementations must be
// thread-safe. For one call, hooks run concurrently only where the
// handler itself works from several threads at once (a bidirectional
// stream's reads and writes, a reactor writing from another thread).
#ifndef SOCKRPC_SERVER_INTERCEPTOR_H_
#define SOCKRPC_SERVER_INTERCEPTOR_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
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

  // Called with each request message once parsed, before the handler sees
  // it: a unary or server-streaming call's request, and each message a
  // streaming handler reads. May change the message (its type is the
  // method's request type). A non-OK status ends the call with it: the
  // handler never sees the message (a unary handler never runs; a
  // streaming handler's read fails, as when the call is cancelled).
  virtual absl::Status OnRequest(ServerContext& context,
                                 google::protobuf::MessageLite& request) {
    return absl::OkStatus();
  }

  // Called with each reply message before it is sent: a unary or
  // client-streaming call's reply, and each message a streaming handler
  // writes. A non-OK status ends the call with it instead: that message
  // and any later ones are not sent (the write fails).
  virtual absl::Status OnReply(ServerContext& context,
                               const google::protobuf::MessageLite& reply) {
    return absl::OkStatus();
  }

  // Called with the status the handler (or an earlier hook) ended the call
  // with, before it is sent; may replace it, e.g. to hide an internal
  // error's details, and may add trailing metadata to `context`. A call
  // the runtime ends by itself rather than its handler or a hook (its
  // deadline passed, the client cancelled, the server shuts down, a
  // message broke a limit or a hook refused one) may not pass through
  // here; OnCallEnd sees every call's end.
  virtual void OnStatus(ServerContext& context, absl::Status& status) {}

  // Called once the call has ended with `status` (what the client is sent),
  // `elapsed` after it started.
  virtual void OnCallEnd(const ServerContext& context,
                         const absl::Status& status, absl::Duration elapsed) {}
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_INTERCEPTOR_H_
