#include "server/method_handler.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace internal {
namespace {

using ::google::protobuf::MessageLite;

bool Parse(absl::string_view bytes, MessageLite* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

absl::Status RequestDoesNotParse(const ServerContext& context) {
  return absl::InternalError(
      absl::StrCat("failed to parse request for ", context.method()));
}

}  // namespace

MethodHandler::MethodHandler(RpcKind kind, const MessageLite& request_type,
                             const MessageLite& reply_type,
                             BlockingFunction blocking,
                             CallbackFunction callback)
    : kind_(kind),
      request_type_(request_type),
      reply_type_(reply_type),
      blocking_(std::move(blocking)),
      callback_(std::move(callback)) {}

std::unique_ptr<CallMessages> MethodHandler::TakeUnaryMessages() {
  std::unique_ptr<CallMessages> messages = kept_.Take();
  if (messages->request == nullptr) {
    messages->request.reset(request_type_.New());
    messages->reply.reset(reply_type_.New());
  }
  return messages;
}

absl::Status MethodHandler::RunUnary(ServerContext* context,
                                     absl::string_view request_bytes,
                                     RequestHook on_request,
                                     UnaryFinish finish) {
  std::unique_ptr<CallMessages> messages = TakeUnaryMessages();
  MessageLite& request = *messages->request;
  MessageLite& reply = *messages->reply;
  absl::Status final_status;
  absl::Status hooked;
  bool reply_offered = false;
  if (!Parse(request_bytes, &request)) {
    final_status = finish(nullptr, RequestDoesNotParse(*context));
  } else if (hooked = on_request(request); !hooked.ok()) {
    final_status = finish(nullptr, std::move(hooked));
  } else {
    absl::Status status = blocking_(context, &request, &reply, nullptr);
    reply_offered = status.ok();
    final_status = finish(reply_offered ? &reply : nullptr, std::move(status));
  }
  // Kept for a later call unless large (a kept message holds on to the
  // memory of its contents): the reply cleared, the request as it is (its
  // parse clears it first). A reply offered and sent OK was just measured
  // to encode it; otherwise (an error, or an interceptor that made one OK
  // with no reply) it is measured here.
  const size_t reply_size = reply_offered && final_status.ok()
                                ? static_cast<size_t>(reply.GetCachedSize())
                                : reply.ByteSizeLong();
  GiveBack(std::move(messages), request_bytes.size(), reply_size);
  return final_status;
}

absl::Status MethodHandler::RunStream(ServerContext* context,
                                      ServerStream* stream) {
  switch (kind_) {
    case RpcKind::kClientStreaming: {
      std::unique_ptr<MessageLite> reply(reply_type_.New());
      absl::Status status = blocking_(context, nullptr, reply.get(), stream);
      if (status.ok() && !stream->Write(*reply)) {
        return absl::CancelledError("the call ended before the reply was sent");
      }
      return status;
    }
    case RpcKind::kServerStreaming: {
      std::unique_ptr<MessageLite> request(request_type_.New());
      if (!stream->Read(request.get())) {
        return absl::InternalError(
            absl::StrCat("server-streaming call to ", context->method(),
                         " ended without a request message"));
      }
      return blocking_(context, request.get(), nullptr, stream);
    }
    case RpcKind::kBidiStreaming:
      return blocking_(context, nullptr, nullptr, stream);
    case RpcKind::kUnary:
      break;
  }
  return absl::InternalError("not a streaming method");
}

ServerReactorBase* MethodHandler::StartCallback(CallbackCall* call) {
  // A request for the kinds whose handler takes one; a reply for those
  // with a single reply (a server-streaming call's replies are writes).
  const bool takes_request =
      kind_ == RpcKind::kUnary || kind_ == RpcKind::kServerStreaming;
  const bool has_reply =
      kind_ == RpcKind::kUnary || kind_ == RpcKind::kClientStreaming;
  std::unique_ptr<CallMessages> messages;
  if (kind_ == RpcKind::kUnary) {
    messages = TakeUnaryMessages();
  } else {
    messages = std::make_unique<CallMessages>();
    if (takes_request) messages->request.reset(request_type_.New());
    if (has_reply) messages->reply.reset(reply_type_.New());
  }
  MessageLite* request = messages->request.get();
  MessageLite* reply = messages->reply.get();
  const bool parsed = !takes_request || Parse(call->request(), request);
  call->Keep(std::move(messages));
  CallbackServerContext* context = call->context();
  absl::Status refused;
  if (!parsed) {
    refused = RequestDoesNotParse(*context);
  } else if (takes_request) {
    refused = call->InterceptRequest(*request);
  }
  if (!refused.ok()) {
    ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(std::move(refused));
    return reactor;
  }
  return callback_(context, request, reply);
}

void MethodHandler::ReleaseMessages(std::unique_ptr<CallMessages> messages) {
  if (messages == nullptr || kind_ != RpcKind::kUnary) return;  // freed
  const size_t request_size = messages->request->ByteSizeLong();
  const size_t reply_size = messages->reply->ByteSizeLong();
  GiveBack(std::move(messages), request_size, reply_size);
}

absl::Status MethodHandler::RunBlocking(CallbackCall* call,
                                        ServerStream* stream) {
  CallMessages* messages = call->kept();
  // The runtime sends the kept reply if the status is OK.
  return blocking_(call->context(), messages->request.get(),
                   messages->reply.get(), stream);
}

}  // namespace internal
}  // namespace sockrpc
