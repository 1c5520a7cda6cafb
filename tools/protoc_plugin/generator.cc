#include "tools/protoc_plugin/generator.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/compiler/code_generator.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "tools/protoc_plugin/emit.h"
#include "tools/protoc_plugin/names.h"

namespace sockrpc::generator {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::compiler::GeneratorContext;

// The Validate functions leave the .proto file's name out of their errors:
// protoc puts it in front of each.

// Reads the --sockrpc_out parameters into `*mocks`: "mocks" (no value)
// asks for the gMock header too. Anything else is an error.
bool ParseParameters(const std::string& parameter, bool* mocks,
                     std::string* error) {
  std::vector<std::pair<std::string, std::string>> options;
  google::protobuf::compiler::ParseGeneratorParameter(parameter, &options);
  *mocks = false;
  for (const auto& [key, value] : options) {
    if (key == "mocks" && value.empty()) {
      *mocks = true;
      continue;
    }
    *error = absl::StrCat("unknown parameter \"", key,
                          "\" (protoc-gen-sockrpc takes only \"mocks\")");
    return false;
  }
  return true;
}

// Writes one generated file, `name`, with `emit`.
bool WriteFile(const FileDescriptor* file, const std::string& name,
               void (*emit)(const FileDescriptor*,
                            google::protobuf::io::Printer*),
               GeneratorContext* context, std::string* error) {
  std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> output(
      context->Open(name));
  google::protobuf::io::Printer printer(output.get(), '$');
  emit(file, &printer);
  if (printer.failed()) {
    *error = absl::StrCat("failed to write ", name);
    return false;
  }
  return true;
}

// Checks that the member functions generated for the methods of `service`
// have C++ names of their own: each method's, and the AsyncBar of each
// unary method (which AsyncMethodName() already steers clear of a method
// named AsyncBar, but not of one more named AsyncBar_).
bool ValidateService(const ServiceDescriptor* service, std::string* error) {
  // What each C++ name is taken by, for the message.
  absl::flat_hash_map<std::string, std::string> taken_by;
  auto take = [&](const std::string& cpp_name, std::string what) {
    auto [it, inserted] = taken_by.emplace(cpp_name, what);
    if (inserted) return true;
    *error = absl::StrCat(it->second, " and ", what,
                          " would have the same C++ name ", cpp_name);
    return false;
  };
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    if (!take(MethodName(method),
              absl::StrCat("method ", WireMethodName(method)))) {
      return false;
    }
  }
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    if (method->client_streaming() || method->server_streaming()) continue;
    if (!take(AsyncMethodName(method),
              absl::StrCat("the asynchronous form of method ",
                           WireMethodName(method)))) {
      return false;
    }
  }
  return true;
}

// Checks that no two services of `file` get the same C++ class name.
bool ValidateFile(const FileDescriptor* file, std::string* error) {
  absl::flat_hash_map<std::string, const ServiceDescriptor*> by_cpp_name;
  for (int i = 0; i < file->service_count(); ++i) {
    const ServiceDescriptor* service = file->service(i);
    auto [it, inserted] =
        by_cpp_name.emplace(ServiceClassName(service), service);
    if (!inserted) {
      *error = absl::StrCat("services ", it->second->full_name(), " and ",
                            service->full_name(),
                            " would have the same C++ name ", it->first);
      return false;
    }
    if (!ValidateService(service, error)) return false;
  }
  return true;
}

}  // namespace

bool Generator::Generate(const FileDescriptor* file,
                         const std::string& parameter,
                         GeneratorContext* context, std::string* error) const {
  bool mocks = false;
  if (!ParseParameters(parameter, &mocks, error)) return false;
  if (!ValidateFile(file, error)) return false;
  return WriteFile(file, HeaderFileName(file), EmitHeader, context, error) &&
         WriteFile(file, ClientHeaderFileName(file), EmitClientHeader, context,
                   error) &&
         WriteFile(file, ClientSourceFileName(file), EmitClientSource, context,
                   error) &&
         WriteFile(file, ServerHeaderFileName(file), EmitServerHeader, context,
                   error) &&
         WriteFile(file, ServerSourceFileName(file), EmitServerSource, context,
                   error) &&
         (!mocks || WriteFile(file, MockHeaderFileName(file), EmitMockHeader,
                              context, error));
}

}  // namespace sockrpc::generator
