// ForwardedCall: one gRPC call passed through to a sockrpc server, with its
// messages, metadata, deadline, cancellation and status.
//
// Both sides are callback APIs: gRPC's generic server reactor (any method,
// messages as bytes) and sockrpc's client reactor, every call made as a
// bidirectional one (the wire is the same for all four kinds: the sockrpc
// server's method decides how many messages it takes). Messages pass as
// sockrpc.gateway.Opaque, which keeps their bytes without knowing their
// type.
//
// One message is in flight each way at a time: the next gRPC message is
// read only once the previous one is written upstream, and the next reply
// read upstream only once the previous one is written to the gRPC client.
// A slow reader on either side therefore slows the other, and the gateway
// holds at most one message per direction per call.
//
//   gRPC client                  ForwardedCall                 sockrpc server
//   message ─── OnReadDone ──> Opaque ── StartWrite ──────────> MESSAGE
//           <── StartRead ───────────── OnWriteDone <─────────
//   half-close ─ OnReadDone(false) ───── StartWritesDone ─────> HALF_CLOSE
//   message <── StartWrite ─── Opaque <── OnReadDone ────────── MESSAGE
//           ─── OnWriteDone ────────────── StartRead ─────────>
//   status  <── Finish ─────────────────── OnDone <──────────── STATUS
//   cancel/deadline ── OnCancel ─────────── TryCancel ────────> CANCEL
//
// Lifetime: made by the gateway's generic service for each call; deletes
// itself once both sides are done (gRPC's OnDone and sockrpc's OnDone).
// Thread-safe: gRPC's threads and sockrpc's loop thread call in; the state
// is guarded by mu_, and no call into either library is made holding it.
#ifndef SOCKRPC_TOOLS_GATEWAY_FORWARDED_CALL_H_
#define SOCKRPC_TOOLS_GATEWAY_FORWARDED_CALL_H_

#include <grpcpp/generic/async_generic_service.h>

#include "client/channel.h"

namespace sockrpc::gateway {

// Starts forwarding the call of `context` to `upstream`; the reactor for
// gRPC to drive. `upstream` must outlive the call.
grpc::ServerGenericBidiReactor* ForwardCall(
    grpc::GenericCallbackServerContext* context, Channel* upstream);

}  // namespace sockrpc::gateway

#endif  // SOCKRPC_TOOLS_GATEWAY_FORWARDED_CALL_H_
