// Service: the base of every generated service class. It names the service
// and holds its method table, which the Server dispatches on.
//
// Generated code derives from Service, registers each method in its
// constructor with Add*Method(), and declares one virtual handler per
// method that returns UNIMPLEMENTED unless the application overrides it.
//
// Thread-safety: the method table is built in the constructor and then
// only read. Handlers are called concurrently from the server's threads,
// so an application's overrides must be thread-safe.
#ifndef SOCKRPC_SERVER_SERVICE_H_
#define SOCKRPC_SERVER_SERVICE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "sockrpc/server/method_handler.h"
#include "sockrpc/server/reuse_pool.h"
#include "sockrpc/server/server_callback.h"
#include "sockrpc/server/server_context.h"
#include "sockrpc/server/server_stream.h"

namespace sockrpc {

// RpcKind says which sides of a method stream.
enum class RpcKind {
  kUnary,            // one request, one reply
  kClientStreaming,  // many requests, one reply
  kServerStreaming,  // one request, many replies
  kBidiStreaming,    // many requests, many replies, in any order
};

// Returns "unary", "client streaming", "server streaming" or "bidi
// streaming".
const char* RpcKindName(RpcKind kind);

class Service {
 public:
  // One method of the service.
  struct Method {
    std::string full_name;  // "/package.Service/Method"
    RpcKind kind;
    std::unique_ptr<internal::MethodHandler> handler;
    // Served through the callback API (StartCallback) rather than by a
    // blocking handler (RunUnary, RunStream).
    bool callback = false;
    // Whether the handler starts once the request message is read (unary
    // methods, and callback server-streaming ones, whose handler takes the
    // request) rather than at the call's HEADERS.
    bool starts_with_request() const {
      return kind == RpcKind::kUnary ||
             (callback && kind == RpcKind::kServerStreaming);
    }
  };

  virtual ~Service() = default;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The fully qualified service name, "package.Service".
  const std::string& name() const { return name_; }
  const std::vector<Method>& methods() const { return methods_; }

 protected:
  explicit Service(absl::string_view name) : name_(name) {}

  // Registers the unary method `method_name` served by the member function
  // `handler` of the derived class `ServiceT` (virtual dispatch applies).
  template <typename ServiceT, typename Request, typename Reply>
  void AddUnaryMethod(absl::string_view method_name,
                      absl::Status (ServiceT::*handler)(ServerContext*,
                                                        const Request&,
                                                        Reply*));
  // Likewise for the streaming kinds.
  template <typename ServiceT, typename Request, typename Reply>
  void AddClientStreamingMethod(
      absl::string_view method_name,
      absl::Status (ServiceT::*handler)(ServerContext*,
                                        ServerReader<Request>*, Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  void AddServerStreamingMethod(
      absl::string_view method_name,
      absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                        ServerWriter<Reply>*));
  template <typename ServiceT, typename Request, typename Reply>
  void AddBidiStreamingMethod(
      absl::string_view method_name,
      absl::Status (ServiceT::*handler)(ServerContext*,
                                        ServerReaderWriter<Reply, Request>*));

  // Registers a method of a CallbackService (server/server_callback.h):
  // `callback` returns the call's reactor, or null to have `blocking` (the
  // method's blocking form, as in Add*Method) run on a thread that may
  // block. Both are member functions of `ServiceT` (virtual dispatch
  // applies).
  template <typename ServiceT, typename Request, typename Reply>
  void AddCallbackUnaryMethod(
      absl::string_view method_name,
      ServerUnaryReactor* (ServiceT::*callback)(CallbackServerContext*,
                                                const Request*, Reply*),
      absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                         Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  void AddCallbackClientStreamingMethod(
      absl::string_view method_name,
      ServerReadReactor<Request>* (ServiceT::*callback)(CallbackServerContext*,
                                                        Reply*),
      absl::Status (ServiceT::*blocking)(ServerContext*,
                                         ServerReader<Request>*, Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  void AddCallbackServerStreamingMethod(
      absl::string_view method_name,
      ServerWriteReactor<Reply>* (ServiceT::*callback)(CallbackServerContext*,
                                                       const Request*),
      absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                         ServerWriter<Reply>*));
  template <typename ServiceT, typename Request, typename Reply>
  void AddCallbackBidiStreamingMethod(
      absl::string_view method_name,
      ServerBidiReactor<Request, Reply>* (ServiceT::*callback)(
          CallbackServerContext*),
      absl::Status (ServiceT::*blocking)(ServerContext*,
                                         ServerReaderWriter<Reply, Request>*));

 private:
  template <typename ServiceT, typename Request, typename Reply>
  class UnaryHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class ClientStreamingHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class ServerStreamingHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class BidiStreamingHandler;

  template <typename ServiceT, typename Request, typename Reply>
  class CallbackUnaryHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class CallbackClientStreamingHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class CallbackServerStreamingHandler;
  template <typename ServiceT, typename Request, typename Reply>
  class CallbackBidiStreamingHandler;

  void AddMethod(absl::string_view method_name, RpcKind kind,
                 std::unique_ptr<internal::MethodHandler> handler,
                 bool callback = false) {
    methods_.push_back(Method{absl::StrCat("/", name_, "/", method_name),
                              kind, std::move(handler), callback});
  }

  std::string name_;
  std::vector<Method> methods_;
};

// ---- Implementation details below ----

template <typename ServiceT, typename Request, typename Reply>
class Service::UnaryHandler final : public internal::MethodHandler {
 public:
  using Function = absl::Status (ServiceT::*)(ServerContext*, const Request&,
                                              Reply*);
  UnaryHandler(ServiceT* service, Function function)
      : service_(service), function_(function) {}

  void RunUnary(ServerContext* context, absl::string_view request_bytes,
                internal::UnaryResponder* responder) override {
    std::unique_ptr<Messages> messages = kept_.Take();
    Request& request = messages->request;
    Reply& reply = messages->reply;
    if (!request.ParseFromArray(request_bytes.data(),
                                static_cast<int>(request_bytes.size()))) {
      responder->Finish(nullptr,
                        absl::InternalError(absl::StrCat(
                            "failed to parse request for ", context->method())));
    } else {
      absl::Status status = (service_->*function_)(context, request, &reply);
      responder->Finish(status.ok() ? &reply : nullptr, status);
    }
    // Kept cleared for a later call unless large (a kept message holds on
    // to the memory of its contents).
    if (request_bytes.size() <= kMaxKeptMessageSize &&
        reply.ByteSizeLong() <= kMaxKeptMessageSize) {
      request.Clear();
      reply.Clear();
      kept_.Give(std::move(messages));
    }
  }

 private:
  // One call's request and reply; a handler always gets them as new
  // (cleared), but warm: see ReusePool.
  struct Messages {
    Request request;
    Reply reply;
  };
  static constexpr size_t kMaxKeptMessageSize = 4096;
  // About the most calls of one method that run at once.
  static constexpr size_t kMaxKeptMessages = 16;

  ServiceT* const service_;  // the Service that owns this handler
  const Function function_;
  ReusePool<Messages> kept_{kMaxKeptMessages};
};

template <typename ServiceT, typename Request, typename Reply>
class Service::ClientStreamingHandler final : public internal::MethodHandler {
 public:
  using Function = absl::Status (ServiceT::*)(ServerContext*,
                                              ServerReader<Request>*, Reply*);
  ClientStreamingHandler(ServiceT* service, Function function)
      : service_(service), function_(function) {}

  absl::Status RunStream(ServerContext* context,
                         ServerStream* stream) override {
    ServerReader<Request> reader(stream);
    Reply reply;
    absl::Status status = (service_->*function_)(context, &reader, &reply);
    if (status.ok() && !stream->Write(reply)) {
      return absl::CancelledError("the call ended before the reply was sent");
    }
    return status;
  }

 private:
  ServiceT* const service_;
  const Function function_;
};

template <typename ServiceT, typename Request, typename Reply>
class Service::ServerStreamingHandler final : public internal::MethodHandler {
 public:
  using Function = absl::Status (ServiceT::*)(ServerContext*, const Request&,
                                              ServerWriter<Reply>*);
  ServerStreamingHandler(ServiceT* service, Function function)
      : service_(service), function_(function) {}

  absl::Status RunStream(ServerContext* context,
                         ServerStream* stream) override {
    Request request;
    if (!stream->Read(&request)) {
      return absl::InternalError(absl::StrCat(
          "server-streaming call to ", context->method(),
          " ended without a request message"));
    }
    ServerWriter<Reply> writer(stream);
    return (service_->*function_)(context, request, &writer);
  }

 private:
  ServiceT* const service_;
  const Function function_;
};

template <typename ServiceT, typename Request, typename Reply>
class Service::BidiStreamingHandler final : public internal::MethodHandler {
 public:
  using Function = absl::Status (ServiceT::*)(
      ServerContext*, ServerReaderWriter<Reply, Request>*);
  BidiStreamingHandler(ServiceT* service, Function function)
      : service_(service), function_(function) {}

  absl::Status RunStream(ServerContext* context,
                         ServerStream* stream) override {
    ServerReaderWriter<Reply, Request> reader_writer(stream);
    return (service_->*function_)(context, &reader_writer);
  }

 private:
  ServiceT* const service_;
  const Function function_;
};

template <typename ServiceT, typename Request, typename Reply>
void Service::AddUnaryMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&, Reply*)) {
  AddMethod(method_name, RpcKind::kUnary,
            std::make_unique<UnaryHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), handler));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddClientStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, ServerReader<Request>*,
                                      Reply*)) {
  AddMethod(method_name, RpcKind::kClientStreaming,
            std::make_unique<ClientStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), handler));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddServerStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                      ServerWriter<Reply>*)) {
  AddMethod(method_name, RpcKind::kServerStreaming,
            std::make_unique<ServerStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), handler));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddBidiStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*,
                                      ServerReaderWriter<Reply, Request>*)) {
  AddMethod(method_name, RpcKind::kBidiStreaming,
            std::make_unique<BidiStreamingHandler<ServiceT, Request, Reply>>(
                static_cast<ServiceT*>(this), handler));
}

inline const char* RpcKindName(RpcKind kind) {
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

}  // namespace sockrpc

// The handlers of callback methods (templates, like the ones above).
#include "sockrpc/server/callback_handlers.h"  // IWYU pragma: export

#endif  // SOCKRPC_SERVER_SERVICE_H_
