#include "server/reflection_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace sockrpc {
namespace {

using google::protobuf::DescriptorPool;
// A .proto file (not sockrpc::FileDescriptor, a descriptor field).
using ProtoFile = google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// Adds `file` and everything it imports to `names`.
void AddFileAndImports(const ProtoFile* file,
                       absl::flat_hash_set<std::string>* names) {
  if (!names->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileAndImports(file->dependency(i), names);
  }
}

// Appends the encoded descriptors of `file`'s imports, then of `file`, to
// `reply`, each file once (`done` holds those already appended).
void AppendInDependencyOrder(const ProtoFile* file,
                             absl::flat_hash_set<std::string>* done,
                             reflection::v1::FileContainingSymbolReply* reply) {
  if (!done->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AppendInDependencyOrder(file->dependency(i), done, reply);
  }
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(reply->add_file_descriptor_protos());
}

// The method name of a full name "/package.Service/Method".
absl::string_view MethodName(absl::string_view full_name) {
  size_t slash = full_name.rfind('/');
  return slash == absl::string_view::npos ? full_name
                                          : full_name.substr(slash + 1);
}

}  // namespace

ReflectionService::ReflectionService(
    std::vector<const ::sockrpc::Service*> services)
    : services_(std::move(services)) {}

void ReflectionService::DescribeOnce() {
  std::call_once(described_, [this] {
    for (const ::sockrpc::Service* service : services_) Describe(*service);
    Describe(*this);
    std::sort(listing_.mutable_services()->begin(),
              listing_.mutable_services()->end(),
              [](const reflection::v1::ServiceInfo& a,
                 const reflection::v1::ServiceInfo& b) {
                return a.name() < b.name();
              });
  });
}

void ReflectionService::Describe(const ::sockrpc::Service& service) {
  const ServiceDescriptor* descriptor =
      DescriptorPool::generated_pool()->FindServiceByName(service.name());
  if (descriptor != nullptr) {
    AddFileAndImports(descriptor->file(), &served_files_);
  }

  reflection::v1::ServiceInfo* info = listing_.add_services();
  info->set_name(service.name());
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    reflection::v1::MethodInfo* method_info = info->add_methods();
    absl::string_view name = MethodName(method.full_name);
    method_info->set_name(std::string(name));
    // The method table says how the method is served; the descriptor, if
    // there is one, adds the message types.
    method_info->set_client_streaming(method.kind ==
                                          RpcKind::kClientStreaming ||
                                      method.kind == RpcKind::kBidiStreaming);
    method_info->set_server_streaming(method.kind ==
                                          RpcKind::kServerStreaming ||
                                      method.kind == RpcKind::kBidiStreaming);
    const MethodDescriptor* method_descriptor =
        descriptor == nullptr ? nullptr
                              : descriptor->FindMethodByName(std::string(name));
    if (method_descriptor != nullptr) {
      method_info->set_input_type(method_descriptor->input_type()->full_name());
      method_info->set_output_type(
          method_descriptor->output_type()->full_name());
    }
  }
}

ServerUnaryReactor* ReflectionService::ListServices(
    CallbackServerContext* context,
    const reflection::v1::ListServicesRequest* /*request*/,
    reflection::v1::ListServicesReply* reply) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(List(reply));
  return reactor;
}

ServerUnaryReactor* ReflectionService::FileContainingSymbol(
    CallbackServerContext* context,
    const reflection::v1::FileContainingSymbolRequest* request,
    reflection::v1::FileContainingSymbolReply* reply) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(FindFile(*request, reply));
  return reactor;
}

absl::Status ReflectionService::List(reflection::v1::ListServicesReply* reply) {
  DescribeOnce();
  *reply = listing_;
  return absl::OkStatus();
}

absl::Status ReflectionService::FindFile(
    const reflection::v1::FileContainingSymbolRequest& request,
    reflection::v1::FileContainingSymbolReply* reply) {
  DescribeOnce();
  absl::string_view symbol = request.symbol();
  if (!symbol.empty() && symbol.front() == '.') symbol.remove_prefix(1);
  if (symbol.empty()) {
    return absl::InvalidArgumentError("FileContainingSymbol: empty symbol");
  }
  const ProtoFile* file =
      DescriptorPool::generated_pool()->FindFileContainingSymbol(
          std::string(symbol));
  if (file == nullptr || !served_files_.contains(file->name())) {
    return absl::NotFoundError(absl::StrCat(
        "no symbol ", symbol, " in the files of the served services"));
  }
  absl::flat_hash_set<std::string> done;
  AppendInDependencyOrder(file, &done, reply);
  return absl::OkStatus();
}

}  // namespace sockrpc
