// EmitHeader, EmitClientHeader, EmitServerHeader: the declarations of the
// generated headers.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"
#include "tools/protoc_plugin/emit.h"
#include "tools/protoc_plugin/methods.h"
#include "tools/protoc_plugin/names.h"
#include "tools/protoc_plugin/printing.h"

namespace sockrpc::generator {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::io::Printer;

// The headers of the messages `file`'s methods take and return.
std::set<std::string> MessageIncludes(const FileDescriptor* file) {
  std::set<std::string> includes = {StripProto(file->name()) + ".pb.h"};
  for (int i = 0; i < file->service_count(); ++i) {
    const ServiceDescriptor* service = file->service(i);
    for (int j = 0; j < service->method_count(); ++j) {
      const MethodDescriptor* method = service->method(j);
      includes.insert(StripProto(method->input_type()->file()->name()) +
                      ".pb.h");
      includes.insert(StripProto(method->output_type()->file()->name()) +
                      ".pb.h");
    }
  }
  return includes;
}

// The runtime headers a half uses.
std::set<std::string> ClientRuntimeIncludes(const FileDescriptor* file) {
  std::set<std::string> includes = {
      "absl/status/status.h",
      "absl/status/statusor.h",
      "sockrpc/client/channel.h",
      "sockrpc/client/client_context.h",
  };
  if (HasMethods(file)) {
    includes.insert("sockrpc/client/client_callback.h");
    includes.insert("sockrpc/client/client_streams.h");
  }
  return includes;
}

std::set<std::string> ServerRuntimeIncludes(const FileDescriptor* file) {
  std::set<std::string> includes = {
      "absl/status/status.h",
      "sockrpc/server/server_context.h",
      "sockrpc/server/service.h",
  };
  if (HasMethods(file)) includes.insert("sockrpc/server/server_callback.h");
  if (HasStreamingMethods(file)) {
    includes.insert("sockrpc/server/server_stream.h");
  }
  return includes;
}

// Declares `function` as a virtual member function, indented two columns.
void PrintVirtual(const Function& function, Printer* printer) {
  PrintLines(WrapFunction(absl::StrCat("virtual ", function.return_type),
                          absl::StrCat(function.name, "("),
                          Declared(function.params), ");", 2),
             printer);
}

// The class Foo that names service Foo and declares its two sides.
// Both halves declare it, behind a guard of its own (`guard_prefix` and the
// class's name), so that it is defined once whichever comes first.
void EmitServiceClass(const ServiceDescriptor* service,
                      const std::string& guard_prefix, Printer* printer) {
  const std::string name = ServiceClassName(service);
  const std::string guard = absl::StrCat(guard_prefix, name, "_");
  std::vector<std::string> comment = LeadingComments(service);
  if (!comment.empty()) comment.emplace_back();
  for (std::string& line : WrapComment(
           absl::StrCat(name, " holds the name of service ",
                        service->full_name(), " and its two sides: ", name,
                        "::Stub calls the service (through ", name,
                        "::StubInterface, which tests can mock); ", name,
                        "::Service and ", name,
                        "::CallbackService are base classes of its "
                        "implementations."),
           0)) {
    comment.push_back(std::move(line));
  }
  printer->Print("#ifndef $guard$\n#define $guard$\n", "guard", guard);
  PrintComment(comment, printer);
  printer->Print(
      "class $Service$ final {\n"
      " public:\n"
      "  // The service's full name, as it travels on the wire.\n"
      "  static constexpr char kServiceName[] = \"$full_name$\";\n"
      "\n"
      "  class StubInterface;\n"
      "  class Stub;\n"
      "  class Service;\n"
      "  class CallbackService;\n"
      "\n"
      "  $Service$() = delete;\n"
      "};\n"
      "#endif  // $guard$\n",
      "Service", name, "full_name", service->full_name(), "guard", guard);
}

// The callback forms of Foo::Stub's methods: the nested class
// Foo::Stub::Async and the accessor async(), inside Foo::Stub's body (at
// its indentation).
void EmitAsyncClass(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  printer->Print("\n");
  PrintComment(
      WrapComment(
          absl::StrCat(
              name,
              "::Stub::Async holds the callback forms of the methods "
              "(client/client_callback.h). Each returns at once: a unary "
              "method calls `done` with the call's status on the channel's "
              "event loop once `*reply` holds the reply; a streaming method "
              "binds `reactor` to a new call, which reactor->StartCall() "
              "starts. The context, reply and reactor must stay alive until "
              "the call is done."),
          2),
      printer);
  printer->Print(
      "class Async final {\n"
      " public:\n");
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const Function function = AsyncStubMethod(service->method(i));
    PrintLines(
        WrapFunction(function.return_type, absl::StrCat(function.name, "("),
                     Declared(function.params), ");", 4),
        printer);
  }
  printer->Outdent();
  printer->Print(
      "\n"
      " private:\n"
      "  friend class Stub;\n"
      "  explicit Async(::sockrpc::Channel* channel) : channel_(channel) {}\n"
      "  ::sockrpc::Channel* channel_;  // the stub's\n"
      "};\n"
      "\n");
  PrintComment(WrapComment("The callback forms of the methods.", 2), printer);
  printer->Print("Async* async() { return &async_forms_; }\n");
}

// The comment of `method` in the stub classes: its own from the .proto
// file, or one saying what it calls.
std::vector<std::string> StubMethodComment(const MethodDescriptor* method) {
  std::vector<std::string> comment = LeadingComments(method);
  if (!comment.empty()) return comment;
  return WrapComment(
      IsStreaming(method)
          ? absl::StrCat("Starts a call of ", WireMethodName(method), " (",
                         KindName(method), ").")
          : absl::StrCat("Calls ", WireMethodName(method), "."),
      2);
}

// The client side's interface, Foo::StubInterface: each method's forms
// that take a ClientContext, pure virtual, and the forms without one,
// which call them with none.
void EmitStubInterface(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  PrintComment(
      WrapComment(
          absl::StrCat(
              name, "::StubInterface is what calling service ",
              service->full_name(), " takes: ", name,
              "::Stub implements it over a Channel, and a test can put a "
              "mock in its place (sockrpc_generate(... MOCKS) generates "
              "one). Each method has two forms: one takes a ClientContext "
              "(the call's deadline and metadata; it may be null, and "
              "otherwise must stay alive until the method returns or, if it "
              "returns a call object, as long as that object), the other "
              "does without."),
          0),
      printer);
  printer->Print(
      "class $Service$::StubInterface {\n"
      " public:\n"
      "  virtual ~StubInterface() = default;\n",
      "Service", name);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    printer->Print("\n");
    PrintComment(StubMethodComment(method), printer);
    for (const StubForm& form : StubForms(method)) {
      const Function& function = form.function;
      if (form.fills_reply) {
        PrintComment(
            WrapComment("The same call, writing the reply into *reply (a "
                        "message used again keeps its memory) and returning "
                        "the call's status, as gRPC's blocking stubs do.",
                        2),
            printer);
      }
      if (!form.blocking && !IsStreaming(method)) {
        PrintComment(
            WrapComment(absl::StrCat(function.name,
                                     " starts the same call and returns at "
                                     "once; the future's Get() waits for the "
                                     "reply."),
                        2),
            printer);
      }
      const std::string head = absl::StrCat(function.name, "(");
      std::vector<std::string> params = Declared(function.params);
      PrintLines(WrapFunction(absl::StrCat("virtual ", function.return_type),
                              head, params, ") = 0;", 2),
                 printer);
      params.erase(params.begin());  // the ClientContext
      PrintLines(WrapFunction(function.return_type, head, params, ");", 2),
                 printer);
    }
  }
  printer->Outdent();
  printer->Print("};\n\n");
}

// The client side, Foo::Stub.
void EmitStub(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  EmitStubInterface(service, printer);
  PrintComment(
      WrapComment(
          absl::StrCat(name, "::Stub calls the methods of service ",
                       service->full_name(),
                       " through a Channel (see StubInterface for the "
                       "forms); async() holds a third form of each, which "
                       "reports through callbacks. Thread-safe."),
          0),
      printer);
  printer->Print(
      "class $Service$::Stub final : public $Service$::StubInterface {\n"
      " public:\n"
      "  explicit Stub(std::shared_ptr<::sockrpc::Channel> channel);\n",
      "Service", name);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    printer->Print("\n");
    std::string used;  // a name's using-declaration comes once
    for (const StubForm& form : StubForms(method)) {
      const Function& function = form.function;
      // The form without a context is StubInterface's.
      if (function.name != used) {
        printer->Print("using StubInterface::$Function$;\n", "Function",
                       function.name);
        used = function.name;
      }
      PrintLines(
          WrapFunction(function.return_type, absl::StrCat(function.name, "("),
                       Declared(function.params), ") override;", 2),
          printer);
    }
  }
  if (service->method_count() > 0) EmitAsyncClass(service, printer);
  printer->Outdent();
  printer->Print(
      "\n"
      " private:\n"
      "  std::shared_ptr<::sockrpc::Channel> channel_;\n");
  if (service->method_count() > 0) {
    printer->Print("  Async async_forms_{channel_.get()};\n");
  }
  printer->Print("};\n");
}

// The server side, Foo::Service.
void EmitService(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  PrintComment(
      WrapComment(
          absl::StrCat(
              name, "::Service is the base class of implementations of ",
              service->full_name(),
              ": derive from it, override the methods the implementation "
              "serves, and register an instance with "
              "sockrpc::Server::RegisterService(). The server calls the "
              "methods concurrently from its threads, so overrides must be "
              "thread-safe."),
          0),
      printer);
  printer->Print(
      "class $Service$::Service : public ::sockrpc::Service {\n"
      " public:\n",
      "Service", name);
  printer->Indent();
  PrintComment(
      WrapComment(absl::StrCat("Registers every method of ",
                               service->full_name(), " in the method table."),
                  2),
      printer);
  printer->Print("Service();\n");
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    std::vector<std::string> comment = LeadingComments(method);
    if (!comment.empty()) comment.emplace_back();
    for (std::string& line : WrapComment(
             absl::StrCat("Default: UNIMPLEMENTED (\"method ",
                          WireMethodName(method), " is not implemented\")."),
             2)) {
      comment.push_back(std::move(line));
    }
    printer->Print("\n");
    PrintComment(comment, printer);
    PrintVirtual(ServiceHandler(method), printer);
  }
  printer->Outdent();
  printer->Print("};\n");
}

// The server side for the callback API, Foo::CallbackService.
void EmitCallbackService(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  PrintComment(
      WrapComment(
          absl::StrCat(
              name,
              "::CallbackService is the base class of implementations of ",
              service->full_name(),
              " that serve methods through the callback API "
              "(server/server_callback.h): derive from it and register an "
              "instance with sockrpc::Server::RegisterService(). The server "
              "calls the methods concurrently from its threads, so overrides "
              "must be thread-safe.\n\n"
              "Each method has two forms of the same name. Override the "
              "callback form to serve the method without holding a thread: "
              "it returns the call's reactor, and must not block. Override "
              "the blocking form, as in ",
              name,
              "::Service, for a method that may block: it then runs on the "
              "server's handler pool. A method with neither form overridden "
              "fails with UNIMPLEMENTED."),
          0),
      printer);
  printer->Print(
      "class $Service$::CallbackService : public ::sockrpc::Service {\n"
      " public:\n",
      "Service", name);
  printer->Indent();
  PrintComment(
      WrapComment(absl::StrCat("Registers every method of ",
                               service->full_name(), " in the method table."),
                  2),
      printer);
  printer->Print("CallbackService();\n");
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    std::vector<std::string> comment = LeadingComments(method);
    if (!comment.empty()) comment.emplace_back();
    for (std::string& line : WrapComment(
             "The callback form. Default: returns null, so that the server "
             "runs the blocking form below.",
             2)) {
      comment.push_back(std::move(line));
    }
    printer->Print("\n");
    PrintComment(comment, printer);
    PrintVirtual(CallbackHandler(method), printer);
    PrintComment(
        WrapComment(
            absl::StrCat("The blocking form. Default: UNIMPLEMENTED (\"method ",
                         WireMethodName(method), " is not implemented\")."),
            2),
        printer);
    PrintVirtual(ServiceHandler(method), printer);
  }
  printer->Outdent();
  printer->Print("};\n");
}

// Writes the header `name` of a half: its includes (the C++ library's
// `standard`, `runtime` and the messages'), then in the file's namespace, for
// each service, the guarded class Foo and what `emit` prints.
void EmitHalfHeader(const FileDescriptor* file, const std::string& name,
                    const std::string& description,
                    const std::set<std::string>& standard,
                    const std::set<std::string>& runtime,
                    const std::function<void(const ServiceDescriptor*)>& emit,
                    Printer* printer) {
  PrintHeaderOpen(file, name, description, printer);
  if (file->service_count() == 0) {
    printer->Print("#include \"$pb_h$\"\n\n// $source$ defines no services.\n",
                   "pb_h", StripProto(file->name()) + ".pb.h", "source",
                   file->name());
  } else {
    for (const std::string& include : standard) {
      printer->Print("#include <$include$>\n", "include", include);
    }
    if (!standard.empty()) printer->Print("\n");
    for (const std::string& include : runtime) {
      printer->Print("#include <$include$>\n", "include", include);
    }
    printer->Print("\n");
    for (const std::string& include : MessageIncludes(file)) {
      printer->Print("#include \"$include$\"\n", "include", include);
    }
    printer->Print("\n");
    const std::string class_guard_prefix = HeaderGuard(HeaderFileName(file));
    PrintServices(
        file,
        [&](const ServiceDescriptor* service) {
          EmitServiceClass(service, class_guard_prefix, printer);
          printer->Print("\n");
          emit(service);
        },
        printer);
  }
  PrintHeaderClose(name, printer);
}

}  // namespace

std::string HeaderFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + ".sockrpc.pb.h";
}

std::string ClientHeaderFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + "_client.sockrpc.pb.h";
}

std::string ServerHeaderFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + "_server.sockrpc.pb.h";
}

void EmitHeader(const FileDescriptor* file, Printer* printer) {
  PrintHeaderOpen(file, HeaderFileName(file), "", printer);
  printer->Print(
      "// Both halves: the client's (Stub) and the server's (Service, "
      "CallbackService).\n"
      "#include \"$client$\"  // IWYU pragma: export\n"
      "#include \"$server$\"  // IWYU pragma: export\n",
      "client", ClientHeaderFileName(file), "server",
      ServerHeaderFileName(file));
  PrintHeaderClose(HeaderFileName(file), printer);
}

void EmitClientHeader(const FileDescriptor* file, Printer* printer) {
  EmitHalfHeader(
      file, ClientHeaderFileName(file),
      "The client half: each service's StubInterface and Stub. "
      "Code that only calls the services links sockrpc::client "
      "(the client runtime) and no server code.",
      HasMethods(file) ? std::set<std::string>{"functional", "memory"}
                       : std::set<std::string>{"memory"},
      ClientRuntimeIncludes(file),
      [printer](const ServiceDescriptor* service) {
        EmitStub(service, printer);
      },
      printer);
}

void EmitServerHeader(const FileDescriptor* file, Printer* printer) {
  EmitHalfHeader(
      file, ServerHeaderFileName(file),
      "The server half: each service's Service and CallbackService, "
      "the base classes of its implementations. Code that only "
      "serves links sockrpc::server (the server runtime) and no "
      "client code.",
      {}, ServerRuntimeIncludes(file),
      [printer](const ServiceDescriptor* service) {
        EmitService(service, printer);
        printer->Print("\n");
        EmitCallbackService(service, printer);
      },
      printer);
}

}  // namespace sockrpc::generator
