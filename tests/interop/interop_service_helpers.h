// Internal to the interop services: what the blocking InteropService and
// the callback InteropCallbackService share, so that both answer every
// request exactly alike (the same statuses, messages, replies, metadata
// and delays). Test-only.
//
// Thread-safe: pure functions, except EchoMetadata (the handler's context,
// from the handler's thread).
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_HELPERS_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_HELPERS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "interop.pb.h"
#include "server/server_context.h"

namespace sockrpc {
namespace interop {

// EchoMetadata copies the echo keys of the client's metadata
// (interop_common.h) into the reply's metadata: kEchoInitialKey as initial,
// kEchoTrailingKey as trailing metadata. Must run before the call's initial
// metadata goes out (its first write, or a unary call's end).
void EchoMetadata(ServerContext* context);

// RequestedStatus is the status a request asked for: OK unless its code is
// set.
absl::Status RequestedStatus(const StatusToEcho& echo);

// AnswerUnary answers a UnaryCall: the requested status if one was asked
// for (leaving `*reply` alone), else OK with `*reply` filled in.
absl::Status AnswerUnary(const UnaryRequest& request, UnaryReply* reply);

// MakeChunk is reply number `index` of a stream: `size` bytes of the
// pattern seeded with `index`.
StreamChunk MakeChunk(uint32_t index, uint32_t size);

// ClientGone is the status of a call that ended for the client (cancel,
// deadline, disconnect) before the handler was done; the client never
// sees it.
absl::Status ClientGone(const ServerContext& context);

// SleepTime is how long a SleepCall waits.
absl::Duration SleepTime(const SleepRequest& request);

// PauseBeforeEachReply is how long a StreamingOutputCall waits before each
// reply; zero for no wait.
absl::Duration PauseBeforeEachReply(const DownloadRequest& request);

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_HELPERS_H_
