// Schema's own methods and LoadSchema(), which hands the work to the
// loader of the chosen source (schema_files.cc, schema_reflection.cc).
#include "tools/cli/schema.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/cli/schema_internal.h"

namespace sockrpc {
namespace cli {
namespace {

// "A, B or C": the names of `service`'s methods.
std::string MethodNames(const google::protobuf::ServiceDescriptor& service) {
  std::vector<std::string> names;
  for (int i = 0; i < service.method_count(); ++i) {
    names.push_back(service.method(i)->name());
  }
  if (names.empty()) return "(none: the service has no methods)";
  std::string last = names.back();
  names.pop_back();
  if (names.empty()) return last;
  return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
}

// "services A, B" (sorted), or "no services".
std::string ServiceNames(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  if (services.empty()) return "no services";
  std::vector<std::string> names;
  for (const auto* service : services) names.push_back(service->full_name());
  std::sort(names.begin(), names.end());
  return absl::StrCat("services ", absl::StrJoin(names, ", "));
}

}  // namespace

absl::StatusOr<const google::protobuf::MethodDescriptor*> Schema::FindMethod(
    absl::string_view name) const {
  absl::string_view rest = name;
  absl::ConsumePrefix(&rest, "/");
  if (const google::protobuf::ServiceDescriptor* service =
          pool()->FindServiceByName(std::string(rest))) {
    return absl::InvalidArgumentError(absl::StrCat(
        rest, " is a service, not a method: add /METHOD, where METHOD is ",
        MethodNames(*service)));
  }
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
    return absl::NotFoundError(absl::StrCat("no service ", service_name,
                                            " in the schema; it has ",
                                            ServiceNames(Services())));
  }
  const google::protobuf::MethodDescriptor* method =
      service->FindMethodByName(method_name);
  if (method == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("service ", service_name, " has no method ", method_name,
                     "; its methods: ", MethodNames(*service)));
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
