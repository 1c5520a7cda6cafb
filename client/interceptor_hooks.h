// Running client interceptors' message and status hooks (see
// client/interceptor.h) for one call: the ones whose OnCallStart ran, in
// the order the interface promises. Internal to the client.
#ifndef SOCKRPC_CLIENT_INTERCEPTOR_HOOKS_H_
#define SOCKRPC_CLIENT_INTERCEPTOR_HOOKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/client_context.h"
#include "client/interceptor.h"
#include "google/protobuf/message_lite.h"

namespace sockrpc {
namespace internal {

using Interceptors = absl::Span<ClientInterceptor* const>;

// OnRequest in order; the first failure's status.
absl::Status RunRequestHooks(Interceptors interceptors,
                             absl::string_view method, ClientContext& context,
                             const google::protobuf::MessageLite& request);

// OnReply in order; the first failure's status.
absl::Status RunReplyHooks(Interceptors interceptors, absl::string_view method,
                           ClientContext& context,
                           google::protobuf::MessageLite& reply);

// OnStatus in reverse order.
void RunStatusHooks(Interceptors interceptors, absl::string_view method,
                    const ClientContext& context, absl::Status& status);

}  // namespace internal
}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_INTERCEPTOR_HOOKS_H_
