// ReflectionBridge: gRPC's server reflection (grpc.reflection.v1alpha,
// what grpcurl, grpc_cli and ghz ask), answered from the upstream sockrpc
// server's own reflection service (PROTOCOL.md section 14).
//
// The upstream's schema is fetched when a request first needs it (its
// services, then the file of each, which brings every file it imports) and
// kept; the gateway's own reflection file is added to it, so the
// reflection service describes itself as gRPC's does. A request the schema
// cannot answer gets an ErrorResponse (NOT_FOUND), as gRPC's does;
// extensions are not supported (sockrpc reflection has none) and are
// answered NOT_FOUND too. The stream answers each request in order.
//
// Thread-safe: one per gateway, shared by every reflection stream.
#ifndef SOCKRPC_TOOLS_GATEWAY_REFLECTION_BRIDGE_H_
#define SOCKRPC_TOOLS_GATEWAY_REFLECTION_BRIDGE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "sockrpc/gateway/grpc_reflection.grpc.pb.h"

namespace sockrpc::gateway {

class ReflectionBridge final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  explicit ReflectionBridge(std::shared_ptr<Channel> upstream);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // The answer to one request (exposed for the stream's reactor).
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request);

 private:
  // Fetches the upstream's services and their files, once; an error is
  // not kept, so a later request tries again.
  absl::Status LoadLocked();
  // `name`'s encoded file and those it imports, dependencies first.
  absl::StatusOr<std::vector<std::string>> FileWithDependenciesLocked(
      const std::string& name);

  const std::shared_ptr<Channel> upstream_;
  std::mutex mu_;
  bool loaded_ = false;
  std::vector<std::string> services_;
  // Encoded FileDescriptorProtos by file name, and the file defining each
  // symbol (services, methods, messages, enums, and their nested ones).
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> file_of_symbol_;
};

}  // namespace sockrpc::gateway

#endif  // SOCKRPC_TOOLS_GATEWAY_REFLECTION_BRIDGE_H_
