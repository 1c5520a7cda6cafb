#include "tools/gateway/reflection_bridge.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.pb.h"
#include "sockrpc/reflection_client.sockrpc.pb.h"

namespace sockrpc::gateway {
namespace {

using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;

constexpr absl::Duration kUpstreamTimeout = absl::Seconds(10);
// grpc::StatusCode values ErrorResponse carries.
constexpr int kNotFound = 5;
constexpr int kUnimplemented = 12;

void IndexMessage(const std::string& prefix,
                  const google::protobuf::DescriptorProto& message,
                  const std::string& file,
                  std::map<std::string, std::string>* index) {
  const std::string name = prefix + message.name();
  (*index)[name] = file;
  for (const auto& nested : message.nested_type()) {
    IndexMessage(name + ".", nested, file, index);
  }
  for (const auto& nested : message.enum_type()) {
    (*index)[name + "." + nested.name()] = file;
  }
}

// Every symbol `proto` defines, to its file's name.
void IndexFile(const google::protobuf::FileDescriptorProto& proto,
               std::map<std::string, std::string>* index) {
  const std::string prefix =
      proto.package().empty() ? "" : proto.package() + ".";
  for (const auto& message : proto.message_type()) {
    IndexMessage(prefix, message, proto.name(), index);
  }
  for (const auto& enumeration : proto.enum_type()) {
    (*index)[prefix + enumeration.name()] = proto.name();
  }
  for (const auto& service : proto.service()) {
    const std::string name = prefix + service.name();
    (*index)[name] = proto.name();
    for (const auto& method : service.method()) {
      (*index)[name + "." + method.name()] = proto.name();
    }
  }
}

void SetError(ServerReflectionResponse* response, int code,
              std::string message) {
  response->mutable_error_response()->set_error_code(code);
  response->mutable_error_response()->set_error_message(std::move(message));
}

// One reflection stream: each request read is answered before the next.
class ReflectionStream final
    : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                     ServerReflectionResponse> {
 public:
  explicit ReflectionStream(ReflectionBridge* bridge) : bridge_(bridge) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    // The first request may wait for the upstream's schema (a few unary
    // calls, bounded by kUpstreamTimeout).
    response_ = bridge_->Answer(request_);
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (ok) {
      StartRead(&request_);
    } else {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client gone"));
    }
  }
  void OnDone() override { delete this; }

 private:
  ReflectionBridge* const bridge_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

}  // namespace

ReflectionBridge::ReflectionBridge(std::shared_ptr<Channel> upstream)
    : upstream_(std::move(upstream)) {}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionBridge::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new ReflectionStream(this);
}

absl::Status ReflectionBridge::LoadLocked() {
  if (loaded_) return absl::OkStatus();
  reflection::v1::Reflection::Stub stub(upstream_);
  ClientContext list_context;
  list_context.set_timeout(kUpstreamTimeout);
  absl::StatusOr<reflection::v1::ListServicesReply> listed =
      stub.ListServices(&list_context, {});
  if (!listed.ok()) return listed.status();
  std::vector<std::string> services;
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> index;
  for (const auto& service : listed->services()) {
    services.push_back(service.name());
    ClientContext context;
    context.set_timeout(kUpstreamTimeout);
    reflection::v1::FileContainingSymbolRequest request;
    request.set_symbol(service.name());
    absl::StatusOr<reflection::v1::FileContainingSymbolReply> reply =
        stub.FileContainingSymbol(&context, request);
    if (absl::IsNotFound(reply.status())) continue;  // served without one
    if (!reply.ok()) return reply.status();
    for (const std::string& encoded : reply->file_descriptor_protos()) {
      google::protobuf::FileDescriptorProto proto;
      if (!proto.ParseFromString(encoded)) {
        return absl::InternalError(
            "the upstream's reflection sent a file that does not parse");
      }
      if (files.emplace(proto.name(), encoded).second) IndexFile(proto, &index);
    }
  }
  // The reflection service describes itself too.
  google::protobuf::FileDescriptorProto own;
  ServerReflectionRequest::descriptor()->file()->CopyTo(&own);
  services.push_back(std::string(
      grpc::reflection::v1alpha::ServerReflection::service_full_name()));
  IndexFile(own, &index);
  files[own.name()] = own.SerializeAsString();
  services_ = std::move(services);
  files_ = std::move(files);
  file_of_symbol_ = std::move(index);
  loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>>
ReflectionBridge::FileWithDependenciesLocked(const std::string& name) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  // Depth first, each file after what it imports.
  std::function<void(const std::string&)> add = [&](const std::string& file) {
    auto it = files_.find(file);
    if (it == files_.end() || !seen.insert(file).second) return;
    google::protobuf::FileDescriptorProto proto;
    proto.ParseFromString(it->second);
    for (const std::string& dependency : proto.dependency()) add(dependency);
    out.push_back(it->second);
  };
  if (files_.count(name) == 0) {
    return absl::NotFoundError(absl::StrCat("file not found: ", name));
  }
  add(name);
  return out;
}

ServerReflectionResponse ReflectionBridge::Answer(
    const ServerReflectionRequest& request) {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status loaded = LoadLocked(); !loaded.ok()) {
    SetError(
        &response, static_cast<int>(loaded.code()),
        absl::StrCat("the upstream's reflection failed: ", loaded.message()));
    return response;
  }
  std::string file;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& service : services_) {
        response.mutable_list_services_response()->add_service()->set_name(
            service);
      }
      return response;
    case ServerReflectionRequest::kFileByFilename:
      file = request.file_by_filename();
      break;
    case ServerReflectionRequest::kFileContainingSymbol: {
      auto it = file_of_symbol_.find(std::string(
          absl::StripPrefix(request.file_containing_symbol(), ".")));
      if (it == file_of_symbol_.end()) {
        SetError(&response, kNotFound,
                 absl::StrCat("symbol not found: ",
                              request.file_containing_symbol()));
        return response;
      }
      file = it->second;
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType:
      if (file_of_symbol_.count(request.all_extension_numbers_of_type())) {
        // A known type: sockrpc reflection has no extensions.
        response.mutable_all_extension_numbers_response()->set_base_type_name(
            request.all_extension_numbers_of_type());
      } else {
        SetError(&response, kNotFound,
                 absl::StrCat("type not found: ",
                              request.all_extension_numbers_of_type()));
      }
      return response;
    case ServerReflectionRequest::kFileContainingExtension:
      SetError(&response, kNotFound,
               "extensions are not supported: sockrpc reflection has none");
      return response;
    default:
      SetError(&response, kUnimplemented, "unknown reflection request");
      return response;
  }
  absl::StatusOr<std::vector<std::string>> encoded =
      FileWithDependenciesLocked(file);
  if (!encoded.ok()) {
    SetError(&response, kNotFound, std::string(encoded.status().message()));
    return response;
  }
  for (std::string& proto : *encoded) {
    response.mutable_file_descriptor_response()->add_file_descriptor_proto(
        std::move(proto));
  }
  return response;
}

}  // namespace sockrpc::gateway
