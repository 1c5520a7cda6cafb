// Internal to protoc-gen-sockrpc: the C++ signatures generated for each
// kind of method, in one place so that the header and the source always
// agree.
//
//   kind              Foo::Stub returns            the handler takes
//   unary             absl::StatusOr<Rep>, and     const Req&, Rep*
//                     UnaryFuture<Rep> (AsyncBar)
//   server streaming  ClientReader<Rep>            const Req&,
//                                                  ServerWriter<Rep>*
//   client streaming  ClientWriter<Req, Rep>       ServerReader<Req>*, Rep*
//   bidi streaming    ClientReaderWriter<Req, Rep> ServerReaderWriter<Rep,
//                                                  Req>*
//
// Every stub form also has an overload without the ClientContext, and every
// handler takes the ServerContext first.
//
// Foo::CallbackService has the same handlers (the blocking forms), each
// beside a callback form of the same name that takes the
// CallbackServerContext first and returns the call's reactor:
//
//   kind              the callback form returns     and takes
//   unary             ServerUnaryReactor*           const Req*, Rep*
//   server streaming  ServerWriteReactor<Rep>*      const Req*
//   client streaming  ServerReadReactor<Req>*       Rep*
//   bidi streaming    ServerBidiReactor<Req, Rep>*  (nothing more)
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_METHODS_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_METHODS_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace sockrpc::generator {

// Parameter is one parameter of a generated member function.
struct Parameter {
  std::string type;  // "const ::a::Request&", "::sockrpc::ServerContext*"
  std::string name;  // "request"
};

// Function is a generated member function as declared in its class.
struct Function {
  std::string return_type;
  std::string name;
  std::vector<Parameter> params;
};

// StubForm is one way Foo::Stub calls a method. `function` takes the
// ClientContext first; the stub also has the overload without it, which
// passes null.
struct StubForm {
  Function function;
  // True for the form that blocks in Channel::CallUnary() and returns
  // absl::StatusOr<Rep>; false for the forms that return their call object
  // (function.return_type) at once, made from Channel::StartCall().
  bool blocking;
  // Whether the request travels with Channel::StartCall() (unary and
  // server streaming) rather than through the returned object.
  bool takes_request;
  // True for the blocking form that writes the reply into the caller's
  // message and returns absl::Status (gRPC's shape): a reply message used
  // again keeps its memory from call to call.
  bool fills_reply = false;
};

// StubForms returns the forms of `method` in declaration order: for a
// unary method, the blocking one, the blocking one that fills a reply, and
// then AsyncBar; one for the others.
std::vector<StubForm> StubForms(
    const google::protobuf::MethodDescriptor* method);

// AsyncStubMethod returns the callback form of `method` in Foo::Stub::Async
// (client/client_callback.h), which returns void and takes the
// ClientContext first:
//
//   kind              then takes
//   unary             const Req*, Rep*, std::function<void(absl::Status)>
//   server streaming  const Req*, ClientReadReactor<Rep>*
//   client streaming  Rep*, ClientWriteReactor<Req>*
//   bidi streaming    ClientBidiReactor<Req, Rep>*
Function AsyncStubMethod(const google::protobuf::MethodDescriptor* method);

// ServiceHandler returns the virtual member function of Foo::Service that
// serves `method`.
Function ServiceHandler(const google::protobuf::MethodDescriptor* method);

// CallbackHandler returns the callback form of `method` in
// Foo::CallbackService: the virtual member function that returns the call's
// reactor (server/server_callback.h). Its blocking form is ServiceHandler().
Function CallbackHandler(const google::protobuf::MethodDescriptor* method);

// Registrar returns the ::sockrpc::Service member that registers `method`
// in the method table: "AddUnaryMethod", "AddServerStreamingMethod", ...
std::string Registrar(const google::protobuf::MethodDescriptor* method);

// CallbackRegistrar returns the ::sockrpc::Service member that registers
// `method` of a CallbackService with both its forms:
// "AddCallbackUnaryMethod", "AddCallbackServerStreamingMethod", ...
std::string CallbackRegistrar(const google::protobuf::MethodDescriptor* method);

// KindName returns "unary", "server streaming", "client streaming" or
// "bidi streaming", as sockrpc::RpcKindName() names the kinds.
std::string KindName(const google::protobuf::MethodDescriptor* method);

// IsStreaming is true if either side of `method` streams.
bool IsStreaming(const google::protobuf::MethodDescriptor* method);

// HasMethods and HasStreamingMethods tell whether some service of `file`
// has a method, or a streaming method: the generated files include the
// runtime's stream headers only when they use them.
bool HasMethods(const google::protobuf::FileDescriptor* file);
bool HasStreamingMethods(const google::protobuf::FileDescriptor* file);

// Declared returns "type name" for each of `params`; Unnamed returns
// "type /*name*/", for definitions that do not use them.
std::vector<std::string> Declared(const std::vector<Parameter>& params);
std::vector<std::string> Unnamed(const std::vector<Parameter>& params);

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_METHODS_H_
