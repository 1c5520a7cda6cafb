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

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
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

namespace internal {

// The runtime's side of a method (server/method_handler.h; internal, not
// installed): it makes, parses and keeps the method's messages and calls
// the functions below.
class MethodHandler;

// A method's handler with its message types erased, as Add*Method() makes
// it of the application's member function. The runtime passes messages of
// the method's own types, and null for what the method's kind lacks:
//   unary             request, reply
//   client streaming  reply, stream (the reply is sent if OK)
//   server streaming  request (read already), stream
//   bidi streaming    stream
using BlockingFunction = std::function<absl::Status(
    ServerContext* context, const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* reply, ServerStream* stream)>;
// A callback method's start, likewise (request and reply as above, and
// kept until the call is done); returns the call's reactor, or null to
// have the method's BlockingFunction run instead.
using CallbackFunction = std::function<ServerReactorBase*(
    CallbackServerContext* context,
    const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* reply)>;

}  // namespace internal

class Service {
 public:
  // One method of the service.
  struct Method {
    std::string full_name;  // "/package.Service/Method"
    RpcKind kind;
    std::shared_ptr<internal::MethodHandler> handler;
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

  virtual ~Service();
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
      absl::Status (ServiceT::*handler)(ServerContext*, ServerReader<Request>*,
                                        Reply*));
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
      absl::Status (ServiceT::*blocking)(ServerContext*, ServerReader<Request>*,
                                         Reply*));
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
  using Message = google::protobuf::MessageLite;

  // The handler of every kind of method, its types erased: one overload
  // per kind (the member function's type tells which).
  template <typename ServiceT, typename Request, typename Reply>
  static internal::BlockingFunction Blocking(
      ServiceT* service,
      absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                        Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::BlockingFunction Blocking(
      ServiceT* service,
      absl::Status (ServiceT::*handler)(ServerContext*, ServerReader<Request>*,
                                        Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::BlockingFunction Blocking(
      ServiceT* service,
      absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                        ServerWriter<Reply>*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::BlockingFunction Blocking(
      ServiceT* service,
      absl::Status (ServiceT::*handler)(ServerContext*,
                                        ServerReaderWriter<Reply, Request>*));
  // Likewise for the callback forms.
  template <typename ServiceT, typename Request, typename Reply>
  static internal::CallbackFunction Callback(
      ServiceT* service,
      ServerUnaryReactor* (ServiceT::*handler)(CallbackServerContext*,
                                               const Request*, Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::CallbackFunction Callback(
      ServiceT* service,
      ServerReadReactor<Request>* (ServiceT::*handler)(CallbackServerContext*,
                                                       Reply*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::CallbackFunction Callback(
      ServiceT* service,
      ServerWriteReactor<Reply>* (ServiceT::*handler)(CallbackServerContext*,
                                                      const Request*));
  template <typename ServiceT, typename Request, typename Reply>
  static internal::CallbackFunction Callback(
      ServiceT* service, ServerBidiReactor<Request, Reply>* (
                             ServiceT::*handler)(CallbackServerContext*));

  // Adds a method whose messages are of the types of `request_type` and
  // `reply_type` (their default instances). A null `callback` makes a
  // blocking method, else a callback one.
  void AddMethod(absl::string_view method_name, RpcKind kind,
                 const Message& request_type, const Message& reply_type,
                 internal::BlockingFunction blocking,
                 internal::CallbackFunction callback);

  std::string name_;
  std::vector<Method> methods_;
};

// ---- Implementation details below ----

template <typename ServiceT, typename Request, typename Reply>
internal::BlockingFunction Service::Blocking(
    ServiceT* service,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&, Reply*)) {
  return [service, handler](ServerContext* context, const Message* request,
                            Message* reply, ServerStream* /*stream*/) {
    return (service->*handler)(context, *static_cast<const Request*>(request),
                               static_cast<Reply*>(reply));
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::BlockingFunction Service::Blocking(
    ServiceT* service,
    absl::Status (ServiceT::*handler)(ServerContext*, ServerReader<Request>*,
                                      Reply*)) {
  return [service, handler](ServerContext* context, const Message* /*request*/,
                            Message* reply, ServerStream* stream) {
    ServerReader<Request> reader(stream);
    return (service->*handler)(context, &reader, static_cast<Reply*>(reply));
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::BlockingFunction Service::Blocking(
    ServiceT* service,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                      ServerWriter<Reply>*)) {
  return [service, handler](ServerContext* context, const Message* request,
                            Message* /*reply*/, ServerStream* stream) {
    ServerWriter<Reply> writer(stream);
    return (service->*handler)(context, *static_cast<const Request*>(request),
                               &writer);
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::BlockingFunction Service::Blocking(
    ServiceT* service,
    absl::Status (ServiceT::*handler)(ServerContext*,
                                      ServerReaderWriter<Reply, Request>*)) {
  return [service, handler](ServerContext* context, const Message* /*request*/,
                            Message* /*reply*/, ServerStream* stream) {
    ServerReaderWriter<Reply, Request> reader_writer(stream);
    return (service->*handler)(context, &reader_writer);
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::CallbackFunction Service::Callback(
    ServiceT* service,
    ServerUnaryReactor* (ServiceT::*handler)(CallbackServerContext*,
                                             const Request*, Reply*)) {
  return [service, handler](CallbackServerContext* context,
                            const Message* request,
                            Message* reply) -> internal::ServerReactorBase* {
    return (service->*handler)(context, static_cast<const Request*>(request),
                               static_cast<Reply*>(reply));
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::CallbackFunction Service::Callback(
    ServiceT* service,
    ServerReadReactor<Request>* (ServiceT::*handler)(CallbackServerContext*,
                                                     Reply*)) {
  return [service, handler](CallbackServerContext* context,
                            const Message* /*request*/,
                            Message* reply) -> internal::ServerReactorBase* {
    return (service->*handler)(context, static_cast<Reply*>(reply));
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::CallbackFunction Service::Callback(
    ServiceT* service,
    ServerWriteReactor<Reply>* (ServiceT::*handler)(CallbackServerContext*,
                                                    const Request*)) {
  return [service, handler](
             CallbackServerContext* context, const Message* request,
             Message* /*reply*/) -> internal::ServerReactorBase* {
    return (service->*handler)(context, static_cast<const Request*>(request));
  };
}

template <typename ServiceT, typename Request, typename Reply>
internal::CallbackFunction Service::Callback(
    ServiceT* service, ServerBidiReactor<Request, Reply>* (ServiceT::*handler)(
                           CallbackServerContext*)) {
  return [service, handler](
             CallbackServerContext* context, const Message* /*request*/,
             Message* /*reply*/) -> internal::ServerReactorBase* {
    return (service->*handler)(context);
  };
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddUnaryMethod(absl::string_view method_name,
                             absl::Status (ServiceT::*handler)(ServerContext*,
                                                               const Request&,
                                                               Reply*)) {
  AddMethod(method_name, RpcKind::kUnary, Request::default_instance(),
            Reply::default_instance(),
            Blocking(static_cast<ServiceT*>(this), handler), nullptr);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddClientStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, ServerReader<Request>*,
                                      Reply*)) {
  AddMethod(method_name, RpcKind::kClientStreaming, Request::default_instance(),
            Reply::default_instance(),
            Blocking(static_cast<ServiceT*>(this), handler), nullptr);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddServerStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&,
                                      ServerWriter<Reply>*)) {
  AddMethod(method_name, RpcKind::kServerStreaming, Request::default_instance(),
            Reply::default_instance(),
            Blocking(static_cast<ServiceT*>(this), handler), nullptr);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddBidiStreamingMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*,
                                      ServerReaderWriter<Reply, Request>*)) {
  AddMethod(method_name, RpcKind::kBidiStreaming, Request::default_instance(),
            Reply::default_instance(),
            Blocking(static_cast<ServiceT*>(this), handler), nullptr);
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackUnaryMethod(
    absl::string_view method_name,
    ServerUnaryReactor* (ServiceT::*callback)(CallbackServerContext*,
                                              const Request*, Reply*),
    absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                       Reply*)) {
  ServiceT* service = static_cast<ServiceT*>(this);
  AddMethod(method_name, RpcKind::kUnary, Request::default_instance(),
            Reply::default_instance(), Blocking(service, blocking),
            Callback(service, callback));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackClientStreamingMethod(
    absl::string_view method_name,
    ServerReadReactor<Request>* (ServiceT::*callback)(CallbackServerContext*,
                                                      Reply*),
    absl::Status (ServiceT::*blocking)(ServerContext*, ServerReader<Request>*,
                                       Reply*)) {
  ServiceT* service = static_cast<ServiceT*>(this);
  AddMethod(method_name, RpcKind::kClientStreaming, Request::default_instance(),
            Reply::default_instance(), Blocking(service, blocking),
            Callback(service, callback));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackServerStreamingMethod(
    absl::string_view method_name,
    ServerWriteReactor<Reply>* (ServiceT::*callback)(CallbackServerContext*,
                                                     const Request*),
    absl::Status (ServiceT::*blocking)(ServerContext*, const Request&,
                                       ServerWriter<Reply>*)) {
  ServiceT* service = static_cast<ServiceT*>(this);
  AddMethod(method_name, RpcKind::kServerStreaming, Request::default_instance(),
            Reply::default_instance(), Blocking(service, blocking),
            Callback(service, callback));
}

template <typename ServiceT, typename Request, typename Reply>
void Service::AddCallbackBidiStreamingMethod(
    absl::string_view method_name,
    ServerBidiReactor<Request, Reply>* (ServiceT::*callback)(
        CallbackServerContext*),
    absl::Status (ServiceT::*blocking)(ServerContext*,
                                       ServerReaderWriter<Reply, Request>*)) {
  ServiceT* service = static_cast<ServiceT*>(this);
  AddMethod(method_name, RpcKind::kBidiStreaming, Request::default_instance(),
            Reply::default_instance(), Blocking(service, blocking),
            Callback(service, callback));
}

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVICE_H_
