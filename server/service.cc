#include "server/service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/method_handler.h"

namespace sockrpc {

const char* RpcKindName(RpcKind kind) {
  switch (kind) {
    case RpcKind::kUnary:
      return "unary";
    case RpcKind::kClientStreaming:
      return "client streaming";
    case RpcKind::kServerStreaming:
      return "server streaming";
    case RpcKind::kBidiStreaming:
      return "bidi streaming";
  }
  return "unknown";
}

Service::~Service() = default;

void Service::AddMethod(absl::string_view method_name, RpcKind kind,
                        const Message& request_type, const Message& reply_type,
                        internal::BlockingFunction blocking,
                        internal::CallbackFunction callback) {
  const bool is_callback = callback != nullptr;
  methods_.push_back(Method{absl::StrCat("/", name_, "/", method_name), kind,
                            std::make_shared<internal::MethodHandler>(
                                kind, request_type, reply_type,
                                std::move(blocking), std::move(callback)),
                            is_callback});
}

}  // namespace sockrpc
