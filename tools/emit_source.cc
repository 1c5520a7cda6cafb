// EmitSource: the definitions of a .sockrpc.pb.cc file.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"
#include "tools/emit.h"
#include "tools/names.h"
#include "tools/printing.h"

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

// The definitions of Foo::Stub.
void EmitStub(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  printer->Print(
      "$Service$::Stub::Stub(std::shared_ptr<::sockrpc::Channel> channel)\n"
      "    : channel_(std::move(channel)) {}\n",
      "Service", name);
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    const std::string reply_type = QualifiedClassName(method->output_type());
    const std::string return_type =
        absl::StrCat("absl::StatusOr<", reply_type, ">");
    const std::string head =
        absl::StrCat(name, "::Stub::", MethodName(method), "(");
    const std::string request = absl::StrCat(
        "const ", QualifiedClassName(method->input_type()), "& request");

    printer->Print("\n");
    PrintLines(
        WrapFunction(return_type, head,
                     {"::sockrpc::ClientContext* context", request}, ") {", 0),
        printer);
    printer->Indent();
    PrintAssignment("static constexpr char kMethod[]",
                    absl::StrCat("\"", WireMethodName(method), "\""), 2,
                    printer);
    printer->Print(
        "$Reply$ reply;\n"
        "absl::Status status = channel_->CallUnary(context, kMethod, request, "
        "&reply);\n"
        "if (!status.ok()) return status;\n"
        "return reply;\n",
        "Reply", reply_type);
    printer->Outdent();
    printer->Print("}\n\n");

    PrintLines(WrapFunction(return_type, head, {request}, ") {", 0), printer);
    printer->Print("  return $Method$(nullptr, request);\n}\n", "Method",
                   MethodName(method));
  }
}

// The definitions of Foo::Service.
void EmitService(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  if (service->method_count() == 0) {
    printer->Print(
        "$Service$::Service::Service() : ::sockrpc::Service(kServiceName) {}\n",
        "Service", name);
    return;
  }
  printer->Print(
      "$Service$::Service::Service() : ::sockrpc::Service(kServiceName) {\n",
      "Service", name);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    PrintLines(WrapSignature("AddUnaryMethod(",
                             {absl::StrCat("\"", method->name(), "\""),
                              absl::StrCat("&Service::", MethodName(method))},
                             ");", 2),
               printer);
  }
  printer->Outdent();
  printer->Print("}\n");

  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    printer->Print("\n");
    PrintLines(
        WrapFunction(
            "absl::Status",
            absl::StrCat(name, "::Service::", MethodName(method), "("),
            {"::sockrpc::ServerContext* /*context*/",
             absl::StrCat("const ", QualifiedClassName(method->input_type()),
                          "& /*request*/"),
             absl::StrCat(QualifiedClassName(method->output_type()),
                          "* /*reply*/")},
            ") {", 0),
        printer);
    printer->Indent();
    PrintLines(WrapSignature("return absl::UnimplementedError(",
                             {absl::StrCat("\"method ", WireMethodName(method),
                                           " is not implemented\"")},
                             ");", 2),
               printer);
    printer->Outdent();
    printer->Print("}\n");
  }
}

}  // namespace

void EmitSource(const FileDescriptor* file, Printer* printer) {
  PrintBanner(file, printer);
  printer->Print("\n#include \"$header$\"\n", "header", HeaderFileName(file));
  if (file->service_count() == 0) return;

  printer->Print(
      "\n"
      "#include <memory>\n"
      "#include <utility>\n"
      "\n"
      "#include \"absl/status/status.h\"\n"
      "#include \"absl/status/statusor.h\"\n"
      "#include \"client/channel.h\"\n"
      "#include \"client/client_context.h\"\n"
      "#include \"server/server_context.h\"\n"
      "#include \"server/service.h\"\n"
      "\n");
  PrintNamespaceOpen(file, printer);
  for (int i = 0; i < file->service_count(); ++i) {
    if (i > 0) printer->Print("\n");
    EmitStub(file->service(i), printer);
    printer->Print("\n");
    EmitService(file->service(i), printer);
  }
  if (!CppNamespace(file).empty()) printer->Print("\n");
  PrintNamespaceClose(file, printer);
}

}  // namespace sockrpc::generator
