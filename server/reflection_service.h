// ReflectionService: the built-in server reflection service
// (proto/sockrpc/reflection.proto, docs/PROTOCOL.md section 14). It lists
// the services a server serves and hands out the descriptors of the .proto
// files that define them, so a client needs no copy of those files.
//
// The server registers one at Start() unless ServerOptions says
// enable_reflection = false; applications need not touch this class.
//
// Descriptors come from the generated pool
// (google::protobuf::DescriptorPool::generated_pool()), where the code
// generated for each service registered its .proto file. A service written
// without generated code is still listed, with its method names and kinds
// but no message types. Only files that define a served service, and the
// files they import, are handed out: the reflection service does not reveal
// other schemas compiled into the binary.
//
// Its methods are callback methods that answer at once, on the thread that
// read the request: reflection is served even while every blocking handler
// slot is taken.
//
// Thread-safe: what it serves is computed once, by the first reflection
// call (so a server nobody inspects never builds descriptors: about half a
// megabyte of resident memory), and then only read.
#ifndef SOCKRPC_SERVER_REFLECTION_SERVICE_H_
#define SOCKRPC_SERVER_REFLECTION_SERVICE_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "server/server_context.h"
#include "server/service.h"
#include "sockrpc/reflection_server.sockrpc.pb.h"

namespace sockrpc {

class ReflectionService final
    : public reflection::v1::Reflection::CallbackService {
 public:
  // Will describe `services` and the reflection service itself. The
  // services must outlive this object (a server's services outlive it).
  explicit ReflectionService(std::vector<const ::sockrpc::Service*> services);

  ServerUnaryReactor* ListServices(
      CallbackServerContext* context,
      const reflection::v1::ListServicesRequest* request,
      reflection::v1::ListServicesReply* reply) override;

  ServerUnaryReactor* FileContainingSymbol(
      CallbackServerContext* context,
      const reflection::v1::FileContainingSymbolRequest* request,
      reflection::v1::FileContainingSymbolReply* reply) override;

 private:
  absl::Status List(reflection::v1::ListServicesReply* reply);
  absl::Status FindFile(
      const reflection::v1::FileContainingSymbolRequest& request,
      reflection::v1::FileContainingSymbolReply* reply);
  // Fills listing_ and served_files_, once.
  void DescribeOnce();
  // (`Service` alone would name the generated base class here.)
  // Adds `service` to listing_ and its files to served_files_.
  void Describe(const ::sockrpc::Service& service);

  const std::vector<const ::sockrpc::Service*> services_;
  std::once_flag described_;
  reflection::v1::ListServicesReply listing_;
  // Names of the files FileContainingSymbol may hand out.
  absl::flat_hash_set<std::string> served_files_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_REFLECTION_SERVICE_H_
