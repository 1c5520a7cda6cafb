// ClientInterceptor: hooks around every call made through a Channel, for
// logging, authentication, validation, error mapping and metrics without
// touching generated code. A call passes through them like this:
//
//   OnCallStart ──> OnRequest (each request message, before it is sent)
//        │          ... OnReply (each reply message, before the application
//        │          gets it) ... OnStatus (the call's status, before the
//        │          application gets it) ──> OnCallEnd (what it got)
//        └─ refused: OnStatus, OnCallEnd
//
// OnCallStart, OnRequest and OnReply run in list order and may fail the
// call; OnStatus and OnCallEnd run in reverse order, for the interceptors
// whose OnCallStart ran. OnRequest runs on the thread that sends the
// message; OnReply on the thread that receives it (the application's, or
// for the callback API the channel's event loop, before OnReadDone() or
// OnDone()); OnStatus right before OnCallEnd.
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
#include "google/protobuf/message_lite.h"
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

  // Called with each request message before it is sent: a unary or
  // server-streaming call's request, and each message a stream writes. A
  // non-OK status fails the call with it instead: the message is not sent
  // (a stream's Write() returns false).
  virtual absl::Status OnRequest(absl::string_view method,
                                 ClientContext& context,
                                 const google::protobuf::MessageLite& request) {
    return absl::OkStatus();
  }

  // Called with each reply message once parsed, before the application
  // gets it; may change it (its type is the method's reply type). A non-OK
  // status fails the call with it (a stream's Read() returns false).
  virtual absl::Status OnReply(absl::string_view method,
                               ClientContext& context,
                               google::protobuf::MessageLite& reply) {
    return absl::OkStatus();
  }

  // Called with the status the call ended with, before the application
  // gets it; may replace it (e.g. to map one code to another).
  virtual void OnStatus(absl::string_view method, const ClientContext& context,
                        absl::Status& status) {}

  // Called once the call ended with `status`, `elapsed` after it started;
  // `context` holds the server's initial and trailing metadata.
  virtual void OnCallEnd(absl::string_view method,
                         const ClientContext& context,
                         const absl::Status& status, absl::Duration elapsed) {
  }
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_INTERCEPTOR_H_
