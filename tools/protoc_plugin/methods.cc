#include "tools/protoc_plugin/methods.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "tools/protoc_plugin/names.h"

namespace sockrpc::generator {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;

std::string RequestType(const MethodDescriptor* method) {
  return QualifiedClassName(method->input_type());
}

std::string ReplyType(const MethodDescriptor* method) {
  return QualifiedClassName(method->output_type());
}

Parameter RequestParameter(const MethodDescriptor* method) {
  return {absl::StrCat("const ", RequestType(method), "&"), "request"};
}

// The parameters of a stub form that takes the request up front.
std::vector<Parameter> CallWithRequest(const MethodDescriptor* method) {
  return {{"::sockrpc::ClientContext*", "context"}, RequestParameter(method)};
}

// The parameters of a stub form whose requests go through its call object.
std::vector<Parameter> CallWithoutRequest() {
  return {{"::sockrpc::ClientContext*", "context"}};
}

// The kind of `method` as the registrars of ::sockrpc::Service spell it:
// "Unary", "ClientStreaming", "ServerStreaming" or "BidiStreaming".
std::string KindInRegistrar(const MethodDescriptor* method) {
  if (method->client_streaming() && method->server_streaming()) {
    return "BidiStreaming";
  }
  if (method->client_streaming()) return "ClientStreaming";
  if (method->server_streaming()) return "ServerStreaming";
  return "Unary";
}

// Whether `file` has a method for which `predicate` holds.
template <typename Predicate>
bool AnyMethod(const FileDescriptor* file, Predicate predicate) {
  for (int i = 0; i < file->service_count(); ++i) {
    for (int j = 0; j < file->service(i)->method_count(); ++j) {
      if (predicate(file->service(i)->method(j))) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<StubForm> StubForms(const MethodDescriptor* method) {
  const std::string name = MethodName(method);
  const std::string request = RequestType(method);
  const std::string reply = ReplyType(method);
  if (method->client_streaming() && method->server_streaming()) {
    return {{{absl::StrCat("::sockrpc::ClientReaderWriter<", request, ", ",
                           reply, ">"),
              name, CallWithoutRequest()},
             /*blocking=*/false,
             /*takes_request=*/false}};
  }
  if (method->client_streaming()) {
    return {
        {{absl::StrCat("::sockrpc::ClientWriter<", request, ", ", reply, ">"),
          name, CallWithoutRequest()},
         /*blocking=*/false,
         /*takes_request=*/false}};
  }
  if (method->server_streaming()) {
    return {{{absl::StrCat("::sockrpc::ClientReader<", reply, ">"), name,
              CallWithRequest(method)},
             /*blocking=*/false,
             /*takes_request=*/true}};
  }
  std::vector<Parameter> fill_params = CallWithRequest(method);
  fill_params.push_back({absl::StrCat(reply, "*"), "reply"});
  return {
      {{absl::StrCat("absl::StatusOr<", reply, ">"), name,
        CallWithRequest(method)},
       /*blocking=*/true,
       /*takes_request=*/true},
      {{"absl::Status", name, fill_params},
       /*blocking=*/true,
       /*takes_request=*/true,
       /*fills_reply=*/true},
      {{absl::StrCat("::sockrpc::UnaryFuture<", reply, ">"),
        AsyncMethodName(method), CallWithRequest(method)},
       /*blocking=*/false,
       /*takes_request=*/true},
  };
}

Function AsyncStubMethod(const MethodDescriptor* method) {
  const std::string request = RequestType(method);
  const std::string reply = ReplyType(method);
  Function function{"void", MethodName(method), CallWithoutRequest()};
  const Parameter request_param{absl::StrCat("const ", request, "*"),
                                "request"};
  const Parameter reply_param{absl::StrCat(reply, "*"), "reply"};
  if (method->client_streaming() && method->server_streaming()) {
    function.params.push_back({absl::StrCat("::sockrpc::ClientBidiReactor<",
                                            request, ", ", reply, ">*"),
                               "reactor"});
  } else if (method->client_streaming()) {
    function.params.push_back(reply_param);
    function.params.push_back(
        {absl::StrCat("::sockrpc::ClientWriteReactor<", request, ">*"),
         "reactor"});
  } else if (method->server_streaming()) {
    function.params.push_back(request_param);
    function.params.push_back(
        {absl::StrCat("::sockrpc::ClientReadReactor<", reply, ">*"),
         "reactor"});
  } else {
    function.params.push_back(request_param);
    function.params.push_back(reply_param);
    function.params.push_back({"std::function<void(absl::Status)>", "done"});
  }
  return function;
}

Function ServiceHandler(const MethodDescriptor* method) {
  const std::string request = RequestType(method);
  const std::string reply = ReplyType(method);
  Function handler{"absl::Status",
                   MethodName(method),
                   {{"::sockrpc::ServerContext*", "context"}}};
  if (method->client_streaming() && method->server_streaming()) {
    handler.params.push_back({absl::StrCat("::sockrpc::ServerReaderWriter<",
                                           reply, ", ", request, ">*"),
                              "stream"});
  } else if (method->client_streaming()) {
    handler.params.push_back(
        {absl::StrCat("::sockrpc::ServerReader<", request, ">*"), "reader"});
    handler.params.push_back({absl::StrCat(reply, "*"), "reply"});
  } else if (method->server_streaming()) {
    handler.params.push_back(RequestParameter(method));
    handler.params.push_back(
        {absl::StrCat("::sockrpc::ServerWriter<", reply, ">*"), "writer"});
  } else {
    handler.params.push_back(RequestParameter(method));
    handler.params.push_back({absl::StrCat(reply, "*"), "reply"});
  }
  return handler;
}

Function CallbackHandler(const MethodDescriptor* method) {
  const std::string request = RequestType(method);
  const std::string reply = ReplyType(method);
  Function handler{"",
                   MethodName(method),
                   {{"::sockrpc::CallbackServerContext*", "context"}}};
  const Parameter request_param{absl::StrCat("const ", request, "*"),
                                "request"};
  const Parameter reply_param{absl::StrCat(reply, "*"), "reply"};
  if (method->client_streaming() && method->server_streaming()) {
    handler.return_type = absl::StrCat("::sockrpc::ServerBidiReactor<", request,
                                       ", ", reply, ">*");
  } else if (method->client_streaming()) {
    handler.return_type =
        absl::StrCat("::sockrpc::ServerReadReactor<", request, ">*");
    handler.params.push_back(reply_param);
  } else if (method->server_streaming()) {
    handler.return_type =
        absl::StrCat("::sockrpc::ServerWriteReactor<", reply, ">*");
    handler.params.push_back(request_param);
  } else {
    handler.return_type = "::sockrpc::ServerUnaryReactor*";
    handler.params.push_back(request_param);
    handler.params.push_back(reply_param);
  }
  return handler;
}

std::string Registrar(const MethodDescriptor* method) {
  return absl::StrCat("Add", KindInRegistrar(method), "Method");
}

std::string CallbackRegistrar(const MethodDescriptor* method) {
  return absl::StrCat("AddCallback", KindInRegistrar(method), "Method");
}

std::string KindName(const MethodDescriptor* method) {
  if (method->client_streaming() && method->server_streaming()) {
    return "bidi streaming";
  }
  if (method->client_streaming()) return "client streaming";
  if (method->server_streaming()) return "server streaming";
  return "unary";
}

bool IsStreaming(const MethodDescriptor* method) {
  return method->client_streaming() || method->server_streaming();
}

bool HasMethods(const FileDescriptor* file) {
  return AnyMethod(file, [](const MethodDescriptor*) { return true; });
}

bool HasStreamingMethods(const FileDescriptor* file) {
  return AnyMethod(file, IsStreaming);
}

std::vector<std::string> Declared(const std::vector<Parameter>& params) {
  std::vector<std::string> declared;
  for (const Parameter& param : params) {
    declared.push_back(absl::StrCat(param.type, " ", param.name));
  }
  return declared;
}

std::vector<std::string> Unnamed(const std::vector<Parameter>& params) {
  std::vector<std::string> unnamed;
  for (const Parameter& param : params) {
    unnamed.push_back(absl::StrCat(param.type, " /*", param.name, "*/"));
  }
  return unnamed;
}

}  // namespace sockrpc::generator
