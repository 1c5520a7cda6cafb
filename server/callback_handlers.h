// The method handlers of callback methods (Service::AddCallback*Method):
// each parses what its method takes, calls the application's callback
// form, and keeps the messages the reactor borrows until the call is done.
// Internal: included by server/service.h, installed only because these are
// templates that generated code instantiates; not part of the API.
#ifndef SOCKRPC_SERVER_CALLBACK_HANDLERS_H_
#define SOCKRPC_SERVER_CALLBACK_HANDLERS_H_

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sockrpc/server/server_callback.h"
#include "sockrpc/server/service.h"

namespace sockrpc {
namespace internal {

// The request and reply of one call, kept until it is done.
template <typename Request, typename Reply>
struct CallMessages final : CallResources {
  Request request;
  Reply reply;
};

// Makes the messages of `call`, keeps them with it, and parses its request
// into them if `parse_request`; null if the request does not parse.
template <typename Request, typename Reply>
CallMessages<Request, Reply>* KeepMessages(CallbackCall* call,
                                           bool parse_request) {
  auto owned = std::make_unique<CallMessages<Request, Reply>>();
  CallMessages<Request, Reply>* messages = owned.get();
  call->Keep(std::move(owned), &messages->reply);
  if (parse_request) {
    absl::string_view bytes = call->request();
    if (!messages->request.ParseFromArray(bytes.data(),
                                          static_cast<int>(bytes.size()))) {
      return nullptr;
    }
  }
  return messages;
}

// The reactor of a call whose request does not parse.
inline ServerReactorBase* RequestDoesNotParse(CallbackCall* call) {
  ServerUnaryReactor* reactor = call->context()->DefaultReactor();
  reactor->Finish(absl::InternalError(absl::StrCat(
      "failed to parse request for ", call->context()->method())));
  return reactor;
}

template <typename Request, typename Reply>
CallMessages<Request, Reply>* KeptMessages(CallbackCall* call) {
  return static_cast<CallMessages<Request, Reply>*>(call->resources());
}

}  // namespace internal

template <typename ServiceT, typename Request, typename Reply>
class Service::CallbackUnaryHandler final : public internal::MethodHandler {
 public:
  using Callback = ServerUnaryReactor* (ServiceT::*)(CallbackServerContext*,
                                                     const Request*, Reply*);
  using Blocking = absl::Status (ServiceT::*)(ServerContext*, const Request&,
                                              Reply*);
  CallbackUnaryHandler(ServiceT* service, Callback callback, Blocking blocking)
      : service_(service), callback_(callback), blocking_(blocking) {}

  internal::ServerReactorBase* StartCallback(
      internal::CallbackCall* call) override {
    auto* messages = internal::KeepMessages<Request, Reply>(call, true);
    if (messages == nullptr) return internal::RequestDoesNotParse(call);
    return (service_->*callback_)(call->context(), &messages->request,
                                  &messages->reply);
  }
  absl::Status RunBlocking(internal::CallbackCall* call,
                           ServerStream* /*stream*/) override {
    auto* messages = internal::KeptMessages<Request, Reply>(call);
    // The runtime sends the kept reply if the status is OK.
    return (service_->*blocking_)(call->context(), messages->request,
                                  &messages->reply);
  }

 private:
  ServiceT* const service_;  // the Service that owns this handler
  const Callback callback_;
  const Blocking blocking_;
};

template <typename ServiceT, typename Request, typename Reply>
class Service::CallbackClientStreamingHandler final : public internal::MethodHandler {
 public:
  using Callback = ServerReadReactor<Request>* (ServiceT::*)(
      CallbackServerContext*, Reply*);
  using Blocking = absl::Status (ServiceT::*)(ServerContext*,
                                              ServerReader<Request>*, Reply*);
  CallbackClientStreamingHandler(ServiceT* service, Callback callback,
                                 Blocking blocking)
      : service_(service), callback_(callback), blocking_(blocking) {}

  internal::ServerReactorBase* StartCallback(
      internal::CallbackCall* call) override {
    auto* messages = internal::KeepMessages<Request, Reply>(call, false);
    return (service_->*callback_)(call->context(), &messages->reply);
  }
  absl::Status RunBlocking(internal::CallbackCall* call,
                           ServerStream* stream) override {
    auto* messages = internal::KeptMessages<Request, Reply>(call);
    ServerReader<Request> reader(stream);
    // The runtime sends the kept reply if the status is OK.
    return (service_->*blocking_)(call->context(), &reader, &messages->reply);
  }

 private:
  ServiceT* const service_;
  const Callback callback_;
  const Blocking blocking_;
};

template <typename ServiceT, typename Request, typename Reply>
class Service::CallbackServerStreamingHandler final : public internal::MethodHandler {
 public:
  using Callback = ServerWriteReactor<Reply>* (ServiceT::*)(
      CallbackServerContext*, const Request*);
  using Blocking = absl::Status (ServiceT::*)(ServerContext*, const Request&,
                                              ServerWriter<Reply>*);
  CallbackServerStreamingHandler(ServiceT* service, Callback callback,
                                 Blocking blocking)
      : service_(service), callback_(callback), blocking_(blocking) {}

  internal::ServerReactorBase* StartCallback(
      internal::CallbackCall* call) override {
    // No reply of its own: a server-streaming call's replies are writes.
    auto* messages = internal::KeepMessages<Request, Reply>(call, true);
    if (messages == nullptr) return internal::RequestDoesNotParse(call);
    return (service_->*callback_)(call->context(), &messages->request);
  }
  absl::Status RunBlocking(internal::CallbackCall* call,
                           ServerStream* stream) override {
    auto* messages = internal::KeptMessages<Request, Reply>(call);
    ServerWriter<Reply> writer(stream);
    return (service_->*blocking_)(call->context(), messages->request, &writer);
  }

 private:
  ServiceT* const service_;
  const Callback callback_;
  const Blocking blocking_;
};

template <typename ServiceT, typename Request, typename Reply>
class Service::CallbackBidiStreamingHandler final : public internal::MethodHandler {
 public:
  using Callback = ServerBidiReactor<Request, Reply>* (ServiceT::*)(
      CallbackServerContext*);
  using Blocking = absl::Status (ServiceT::*)(
      ServerContext*, ServerReaderWriter<Reply, Request>*);
  CallbackBidiStreamingHandler(ServiceT* service, Callback callback,
                               Blocking blocking)
      : service_(service), callback_(callback), blocking_(blocking) {}

  internal::ServerReactorBase* StartCallback(
      internal::CallbackCall* call) override {
    return (service_->*callback_)(call->context());
  }
  absl::Status RunBlocking(internal::CallbackCall* call,
                           ServerStream* stream) override {
    ServerReaderWriter<Reply, Request> reader_writer(stream);
    return (service_->*blocking_)(call->context(), &reader_writer);
  }

 private:
  ServiceT* const service_;
  const Callback callback_;
  const Blocking blocking_;
};

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackUnaryMethod(
    absl::string_view method_name,
    ServerUnaryReactor* (ServiceT::*callback)(CallbackServerContext*,
                                              const Request*, Reply*),
    absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                       Reply*)) {
  AddMethod(method_name, RpcKind::kUnary,
            std::make_unique<CallbackUnaryHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), callback, blocking),
            /*callback=*/true);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackClientStreamingMethod(
    absl::string_view method_name,
    ServerReadReactor<Request>* (ServiceT::*callback)(CallbackServerContext*,
                                                      Reply*),
    absl::Status (ServiceT::*blocking)(ServerContext*, ServerReader<Request>*,
                                       Reply*)) {
  AddMethod(method_name, RpcKind::kClientStreaming,
            std::make_unique<
                CallbackClientStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), callback, blocking),
            /*callback=*/true);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackServerStreamingMethod(
    absl::string_view method_name,
    ServerWriteReactor<Reply>* (ServiceT::*callback)(CallbackServerContext*,
                                                     const Request*),
    absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                       ServerWriter<Reply>*)) {
  AddMethod(method_name, RpcKind::kServerStreaming,
            std::make_unique<
                CallbackServerStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), callback, blocking),
            /*callback=*/true);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackBidiStreamingMethod(
    absl::string_view method_name,
    ServerBidiReactor<Request, Reply>* (ServiceT::*callback)(
        CallbackServerContext*),
    absl::Status (ServiceT::*blocking)(ServerContext*,
                                       ServerReaderWriter<Reply, Request>*)) {
  AddMethod(method_name, RpcKind::kBidiStreaming,
            std::make_unique<
                CallbackBidiStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), callback, blocking),
            /*callback=*/true);
}

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_CALLBACK_HANDLERS_H_
