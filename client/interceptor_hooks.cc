#include "client/interceptor_hooks.h"

namespace sockrpc {
namespace internal {

absl::Status RunRequestHooks(Interceptors interceptors,
                             absl::string_view method, ClientContext& context,
                             const google::protobuf::MessageLite& request) {
  absl::Status status;
  for (size_t i = 0; i < interceptors.size() && status.ok(); ++i) {
    status = interceptors[i]->OnRequest(method, context, request);
  }
  return status;
}

absl::Status RunReplyHooks(Interceptors interceptors, absl::string_view method,
                           ClientContext& context,
                           google::protobuf::MessageLite& reply) {
  absl::Status status;
  for (size_t i = 0; i < interceptors.size() && status.ok(); ++i) {
    status = interceptors[i]->OnReply(method, context, reply);
  }
  return status;
}

void RunStatusHooks(Interceptors interceptors, absl::string_view method,
                    const ClientContext& context, absl::Status& status) {
  for (size_t i = interceptors.size(); i-- > 0;) {
    interceptors[i]->OnStatus(method, context, status);
  }
}

}  // namespace internal
}  // namespace sockrpc
