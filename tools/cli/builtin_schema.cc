#include "tools/cli/builtin_schema.h"

#include <string>

#include "sockrpc/health.pb.h"
#include "sockrpc/reflection.pb.h"
#include "sockrpc/stats.pb.h"

namespace sockrpc {
namespace cli {

const google::protobuf::MethodDescriptor* FindBuiltinMethod(
    absl::string_view service, absl::string_view method) {
  // Through a generated message's descriptor, so that the linker keeps the
  // file's generated code (and its registration) whoever else uses it.
  const google::protobuf::FileDescriptor* files[] = {
      ::sockrpc::reflection::v1::ListServicesRequest::descriptor()->file(),
      ::sockrpc::health::v1::HealthCheckRequest::descriptor()->file(),
      ::sockrpc::stats::v1::GetStatsRequest::descriptor()->file()};
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) {
      const google::protobuf::ServiceDescriptor* candidate = file->service(i);
      if (candidate->full_name() == service) {
        return candidate->FindMethodByName(std::string(method));
      }
    }
  }
  return nullptr;
}

}  // namespace cli
}  // namespace sockrpc
