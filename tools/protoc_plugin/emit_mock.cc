// The optional third generated file, <name>_mock.sockrpc.pb.h: a gMock mock
// of each service's StubInterface, for tests of code that calls a service.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// The MOCK_METHOD of `function`, the return type and each parameter on a
// line of its own:
//   MOCK_METHOD(absl::StatusOr<Rep>, Bar,
//               (::sockrpc::ClientContext* context, const Req& request),
//               (override));
// (a return type holding a comma in parentheses, as gMock needs it).
std::string MockMethod(const Function& function) {
  const std::string open = "MOCK_METHOD(";
  const std::string pad(open.size(), ' ');
  std::string return_type = function.return_type;
  if (absl::StrContains(return_type, ',')) {
    return_type = absl::StrCat("(", return_type, ")");
  }
  return absl::StrCat(
      open, return_type, ", ", function.name, ",\n", pad, "(",
      absl::StrJoin(Declared(function.params), absl::StrCat(",\n", pad, " ")),
      "),\n", pad, "(override));");
}

// class MockFooStub: one MOCK_METHOD per pure virtual of
// Foo::StubInterface, and the forms without a ClientContext brought in
// from the interface (they call the mocked forms with a null context).
void EmitMockStub(const ServiceDescriptor* service, Printer* printer) {
  const std::string name = ServiceClassName(service);
  const std::string mock = absl::StrCat("Mock", name, "Stub");
  PrintComment(
      WrapComment(
          absl::StrCat(
              mock, " is a gMock mock of ", name,
              "::StubInterface: give code under test a ", mock,
              " where it takes a StubInterface, and set what each call "
              "returns with EXPECT_CALL/ON_CALL. The forms without a "
              "ClientContext call the mocked ones with a null context."),
          0),
      printer);
  printer->Print(
      "class $Mock$ : public $Service$::StubInterface {\n"
      " public:\n",
      "Mock", mock, "Service", name);
  printer->Indent();
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    std::string used;  // a name's using-declaration comes once
    for (const StubForm& form : StubForms(method)) {
      const Function& function = form.function;
      if (function.name != used) {
        printer->Print("using StubInterface::$Function$;\n", "Function",
                       function.name);
        used = function.name;
      }
      PrintLines(MockMethod(function), printer);
    }
  }
  printer->Outdent();
  printer->Print("};\n");
}

}  // namespace

std::string MockHeaderFileName(const FileDescriptor* file) {
  return StripProto(file->name()) + "_mock.sockrpc.pb.h";
}

void EmitMockHeader(const FileDescriptor* file, Printer* printer) {
  PrintHeaderOpen(file, MockHeaderFileName(file), "", printer);
  printer->Print("#include <gmock/gmock.h>\n\n#include \"$header$\"\n",
                 "header", ClientHeaderFileName(file));
  if (file->service_count() == 0) {
    printer->Print("\n// $source$ defines no services.\n", "source",
                   file->name());
  } else {
    printer->Print("\n");
    PrintServices(
        file,
        [printer](const ServiceDescriptor* service) {
          EmitMockStub(service, printer);
        },
        printer);
  }
  PrintHeaderClose(MockHeaderFileName(file), printer);
}

}  // namespace sockrpc::generator
