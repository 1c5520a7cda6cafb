// Service: the base of every generated service class. It names the service
// and holds its method table, which the Server dispatches on.
//
// Generated code derives from Service, registers each method in its
// constructor with AddUnaryMethod(), and declares one virtual handler per
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
#include "server/server_context.h"

namespace sockrpc {

// UnaryResponder receives the outcome of one unary handler call.
class UnaryResponder {
 public:
  virtual ~UnaryResponder() = default;
  // Called exactly once. `reply` is non-null iff `status` is OK, and is
  // borrowed for the duration of this call only.
  virtual void Finish(const google::protobuf::MessageLite* reply,
                      const absl::Status& status) = 0;
};

// MethodHandler runs one method of a service on raw request bytes.
class MethodHandler {
 public:
  virtual ~MethodHandler() = default;
  // Parses `request` (the request's protobuf encoding), runs the handler on
  // the calling thread, and reports the outcome to `responder`.
  virtual void RunUnary(ServerContext* context, absl::string_view request,
                        UnaryResponder* responder) = 0;
};

// RpcKind says which side of a method streams.
enum class RpcKind { kUnary };

class Service {
 public:
  // One method of the service.
  struct Method {
    std::string full_name;  // "/package.Service/Method"
    RpcKind kind;
    std::unique_ptr<MethodHandler> handler;
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

 private:
  template <typename ServiceT, typename Request, typename Reply>
  class UnaryHandler;

  std::string name_;
  std::vector<Method> methods_;
};

// ---- Implementation details below ----

template <typename ServiceT, typename Request, typename Reply>
class Service::UnaryHandler final : public MethodHandler {
 public:
  using Function = absl::Status (ServiceT::*)(ServerContext*, const Request&,
                                              Reply*);
  UnaryHandler(ServiceT* service, Function function)
      : service_(service), function_(function) {}

  void RunUnary(ServerContext* context, absl::string_view request_bytes,
                UnaryResponder* responder) override {
    Request request;
    if (!request.ParseFromArray(request_bytes.data(),
                                static_cast<int>(request_bytes.size()))) {
      responder->Finish(nullptr,
                        absl::InternalError(absl::StrCat(
                            "failed to parse request for ", context->method())));
      return;
    }
    Reply reply;
    absl::Status status = (service_->*function_)(context, request, &reply);
    responder->Finish(status.ok() ? &reply : nullptr, status);
  }

 private:
  ServiceT* const service_;  // the Service that owns this handler
  const Function function_;
};

template <typename ServiceT, typename Request, typename Reply>
void Service::AddUnaryMethod(
    absl::string_view method_name,
    absl::Status (ServiceT::*handler)(ServerContext*, const Request&, Reply*)) {
  methods_.push_back(Method{
      absl::StrCat("/", name_, "/", method_name), RpcKind::kUnary,
      std::make_unique<UnaryHandler<ServiceT, Request, Reply>>(
          static_cast<ServiceT*>(this), handler)});
}

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVICE_H_
