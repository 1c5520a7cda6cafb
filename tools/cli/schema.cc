// Schema's own methods and LoadSchema(), which hands the work to the
// loader of the chosen source (schema_files.cc, schema_reflection.cc).
#include "tools/cli/schema.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/cli/schema_internal.h"

namespace sockrpc {
namespace cli {

absl::StatusOr<const google::protobuf::MethodDescriptor*> Schema::FindMethod(
    absl::string_view name) const {
  absl::string_view rest = name;
  absl::ConsumePrefix(&rest, "/");
  // "package.Service/Method" or "package.Service.Method".
  size_t split = rest.rfind('/');
  if (split == absl::string_view::npos) split = rest.rfind('.');
  if (split == absl::string_view::npos || split == 0 ||
      split + 1 == rest.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", name,
        "\" is not a method name: expected package.Service/Method"));
  }
  std::string service_name(rest.substr(0, split));
  std::string method_name(rest.substr(split + 1));
  const google::protobuf::ServiceDescriptor* service =
      pool()->FindServiceByName(service_name);
  if (service == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no service ", service_name, " in the schema"));
  }
  const google::protobuf::MethodDescriptor* method =
      service->FindMethodByName(method_name);
  if (method == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("service ", service_name, " has no method ", method_name));
  }
  return method;
}

std::unique_ptr<google::protobuf::Message> Schema::NewMessage(
    const google::protobuf::Descriptor* type) const {
  return std::unique_ptr<google::protobuf::Message>(
      factory()->GetPrototype(type)->New());
}

absl::StatusOr<std::unique_ptr<Schema>> LoadSchema(
    const SchemaOptions& options) {
  if (!options.proto_files.empty() && !options.protoset.empty()) {
    return absl::InvalidArgumentError(
        "give either --proto or --protoset, not both");
  }
  if (!options.proto_files.empty()) {
    return internal::LoadFromProtoFiles(options);
  }
  if (!options.protoset.empty()) return internal::LoadFromProtoset(options);
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "no schema source: give a server address (for reflection), --proto "
        "or --protoset");
  }
  return internal::LoadFromReflection(options);
}

}  // namespace cli
}  // namespace sockrpc
