// EmitClientSource and EmitServerSource: the definitions of the two halves,
// <name>_client.sockrpc.pb.cc and <name>_server.sockrpc.pb.cc.

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

// Prints `declaration = value;` at `indent` columns, breaking after the
// "=" if the statement does not fit on one line.
void PrintAssignment(const std::string& declaration, const std::string& value,
                     int indent, Printer* printer) {
  std::string line = absl::StrCat(declaration, " = ", value, ";");
  if (line.size() > static_cast<size_t>(kMaxColumns - indent)) {
    line = absl::StrCat(declaration, " =\n    ", value, ";");
  }
  PrintLines(line, printer);
}

// Prints `return Type(argument);` at two columns, wrapping `Type`'s template
// arguments and putting `argument` on a continuation line as needed.
void PrintReturnConstructed(const std::string& type,
                            const std::string& argument, Printer* printer) {
  const std::string line = absl::StrCat("return ", type, "(", argument, ");");
  if (line.size() <= static_cast<size_t>(kMaxColumns - 2)) {
    PrintLines(line, printer);
    return;
  }
  PrintLines(
      absl::StrCat(WrapType("return ", type, "(", 2), "\n    ", argument, ");"),
      printer);
}

// The body of the stub form `form` of `method`, the one taking a
// ClientContext.
void EmitStubBody(const MethodDescriptor* method, const StubForm& form,
                  Printer* printer) {
  PrintAssignment("static constexpr char kMethod[]",
                  absl::StrCat("\"", WireMethodName(method), "\""), 2, printer);
  if (form.fills_reply) {
    printer->Print(
        "return channel_->CallUnary(context, kMethod, request, reply);\n");
    return;
  }
  if (form.blocking) {
    printer->Print(
        "$Reply$ reply;\n"
        "absl::Status status = channel_->CallUnary(context, kMethod, request, "
        "&reply);\n"
        "if (!status.ok()) return status;\n"
        "return reply;\n",
        "Reply", QualifiedClassName(method->output_type()));
    return;
  }
  PrintReturnConstructed(form.function.return_type,
                         form.takes_request
                             ? "channel_->StartCall(context, kMethod, &request)"
                             : "channel_->StartCall(context, kMethod)",
                         printer);
}

// The definitions of Foo::Stub, and of the forms of Foo::StubInterface
// that take no ClientContext.
void EmitStub(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  printer->Print(
      "$Service$::Stub::Stub(std::shared_ptr<::sockrpc::Channel> channel)\n"
      "    : channel_(std::move(channel)) {}\n",
      "Service", name);
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    for (const StubForm& form : StubForms(method)) {
      const Function& function = form.function;
      const std::string head =
          absl::StrCat(name, "::Stub::", function.name, "(");
      std::vector<std::string> params = Declared(function.params);

      printer->Print("\n");
      PrintLines(WrapFunction(function.return_type, head, params, ") {", 0),
                 printer);
      printer->Indent();
      EmitStubBody(method, form, printer);
      printer->Outdent();
      printer->Print("}\n\n");

      params.erase(params.begin());  // the ClientContext
      PrintLines(
          WrapFunction(
              function.return_type,
              absl::StrCat(name, "::StubInterface::", function.name, "("),
              params, ") {", 0),
          printer);
      printer->Print("  return $Function$($args$);\n}\n", "Function",
                     function.name, "args",
                     form.fills_reply     ? "nullptr, request, reply"
                     : form.takes_request ? "nullptr, request"
                                          : "nullptr");
    }
  }
}

// The definitions of Foo::Stub::Async, the callback forms.
void EmitAsyncStub(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    const Function function = AsyncStubMethod(method);
    printer->Print("\n");
    PrintLines(
        WrapFunction(function.return_type,
                     absl::StrCat(name, "::Stub::Async::", function.name, "("),
                     Declared(function.params), ") {", 0),
        printer);
    printer->Indent();
    PrintAssignment("static constexpr char kMethod[]",
                    absl::StrCat("\"", WireMethodName(method), "\""), 2,
                    printer);
    if (!IsStreaming(method)) {
      PrintLines(WrapSignature("channel_->CallbackUnaryCall(",
                               {"context", "kMethod", "*request", "reply",
                                "std::move(done)"},
                               ");", 2),
                 printer);
    } else {
      const bool request = !method->client_streaming();
      const bool reply = !method->server_streaming();
      PrintLines(
          WrapSignature("channel_->BindReactor(",
                        {"context", "kMethod", request ? "request" : "nullptr",
                         reply ? "reply" : "nullptr", "reactor"},
                        ");", 2),
          printer);
    }
    printer->Outdent();
    printer->Print("}\n");
  }
}

// Prints the head of the constructor of `server_class`, Foo::Service or
// Foo::CallbackService, up to `tail` (" {" or " {}"), breaking before the
// base initializer if the line would be too long.
void PrintConstructorHead(const std::string& server_class,
                          const std::string& constructor,
                          const std::string& tail, Printer* printer) {
  const std::string head = absl::StrCat(server_class, "::", constructor, "()");
  const std::string initializer = "::sockrpc::Service(kServiceName)";
  std::string line = absl::StrCat(head, " : ", initializer, tail);
  if (line.size() > static_cast<size_t>(kMaxColumns)) {
    line = absl::StrCat(head, "\n    : ", initializer, tail);
  }
  PrintLines(line, printer);
}

// Prints the definition of `handler`, a member function of `server_class`,
// with the body `body` (lines, indented two columns).
void PrintHandlerDefinition(const std::string& server_class,
                            const Function& handler, const std::string& body,
                            Printer* printer) {
  printer->Print("\n");
  PrintLines(WrapFunction(handler.return_type,
                          absl::StrCat(server_class, "::", handler.name, "("),
                          Unnamed(handler.params), ") {", 0),
             printer);
  printer->Indent();
  PrintLines(body, printer);
  printer->Outdent();
  printer->Print("}\n");
}

// The body of a blocking handler that `method`'s implementation has not
// overridden: UNIMPLEMENTED.
std::string UnimplementedBody(const MethodDescriptor* method) {
  const std::string message = absl::StrCat("\"method ", WireMethodName(method),
                                           " is not implemented\"");
  if (message.size() + 4 + 2 <= static_cast<size_t>(kMaxColumns - 2)) {
    return WrapSignature("return absl::UnimplementedError(", {message}, ");",
                         2);
  }
  // Too long for a line even after a break: two string literals.
  return absl::StrCat("return absl::UnimplementedError(\n    \"method ",
                      WireMethodName(method),
                      " \"\n    \"is not implemented\");");
}

// The definitions of Foo::Service.
void EmitService(const ServiceDescriptor* service, Printer* printer) {
  const std::string server_class =
      absl::StrCat(ServiceClassName(service), "::Service");
  if (service->method_count() == 0) {
    PrintConstructorHead(server_class, "Service", " {}", printer);
    return;
  }
  PrintConstructorHead(server_class, "Service", " {", printer);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    PrintLines(WrapSignature(absl::StrCat(Registrar(method), "("),
                             {absl::StrCat("\"", method->name(), "\""),
                              absl::StrCat("&Service::", MethodName(method))},
                             ");", 2),
               printer);
  }
  printer->Outdent();
  printer->Print("}\n");

  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    PrintHandlerDefinition(server_class, ServiceHandler(method),
                           UnimplementedBody(method), printer);
  }
}

// The definitions of Foo::CallbackService. Each method is registered with
// both its forms, which share a name: the registrar's parameter types pick
// the overload each member pointer names.
void EmitCallbackService(const ServiceDescriptor* service, Printer* printer) {
  const std::string server_class =
      absl::StrCat(ServiceClassName(service), "::CallbackService");
  if (service->method_count() == 0) {
    PrintConstructorHead(server_class, "CallbackService", " {}", printer);
    return;
  }
  PrintConstructorHead(server_class, "CallbackService", " {", printer);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    const std::string member =
        absl::StrCat("&CallbackService::", MethodName(method));
    PrintLines(WrapSignature(
                   absl::StrCat(CallbackRegistrar(method), "("),
                   {absl::StrCat("\"", method->name(), "\""), member, member},
                   ");", 2),
               printer);
  }
  printer->Outdent();
  printer->Print("}\n");

  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    PrintHandlerDefinition(server_class, CallbackHandler(method),
                           "return nullptr;", printer);
    PrintHandlerDefinition(server_class, ServiceHandler(method),
                           UnimplementedBody(method), printer);
  }
}

// The banner and the include of the half's own header `header`, and a
// blank line if more follows.
void PrintSourceHead(const FileDescriptor* file, const std::string& header,
                     Printer* printer) {
  PrintBanner(file, printer);
  printer->Print("\n#include \"$header$\"\n", "header", header);
  if (file->service_count() > 0) printer->Print("\n");
}

}  // namespace

std::string ClientSourceFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + "_client.sockrpc.pb.cc";
}

std::string ServerSourceFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + "_server.sockrpc.pb.cc";
}

void EmitClientSource(const FileDescriptor* file, Printer* printer) {
  PrintSourceHead(file, ClientHeaderFileName(file), printer);
  if (file->service_count() == 0) return;
  if (HasMethods(file)) printer->Print("#include <functional>\n");
  printer->Print(
      "#include <memory>\n"
      "#include <utility>\n"
      "\n"
      "#include <absl/status/status.h>\n"
      "#include <absl/status/statusor.h>\n"
      "#include <sockrpc/client/channel.h>\n");
  if (HasMethods(file)) {
    printer->Print("#include <sockrpc/client/client_callback.h>\n");
  }
  printer->Print("#include <sockrpc/client/client_context.h>\n");
  if (HasMethods(file)) {
    printer->Print("#include <sockrpc/client/client_streams.h>\n");
  }
  printer->Print("\n");
  PrintServices(
      file,
      [printer](const ServiceDescriptor* service) {
        EmitStub(service, printer);
        EmitAsyncStub(service, printer);
      },
      printer);
}

void EmitServerSource(const FileDescriptor* file, Printer* printer) {
  PrintSourceHead(file, ServerHeaderFileName(file), printer);
  if (file->service_count() == 0) return;
  printer->Print("#include <absl/status/status.h>\n");
  if (HasMethods(file)) {
    printer->Print("#include <sockrpc/server/server_callback.h>\n");
  }
  printer->Print("#include <sockrpc/server/server_context.h>\n");
  if (HasStreamingMethods(file)) {
    printer->Print("#include <sockrpc/server/server_stream.h>\n");
  }
  printer->Print("#include <sockrpc/server/service.h>\n\n");
  PrintServices(
      file,
      [printer](const ServiceDescriptor* service) {
        EmitService(service, printer);
        printer->Print("\n");
        EmitCallbackService(service, printer);
      },
      printer);
}

}  // namespace sockrpc::generator
