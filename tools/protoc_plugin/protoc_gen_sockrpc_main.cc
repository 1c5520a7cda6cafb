// protoc-gen-sockrpc: the protoc plugin that generates sockrpc service code.
//
//   protoc --plugin=protoc-gen-sockrpc=PATH --cpp_out=DIR --sockrpc_out=DIR
//       foo.proto
//
// writes DIR/foo_client.sockrpc.pb.{h,cc} (the stubs),
// DIR/foo_server.sockrpc.pb.{h,cc} (the service base classes) and
// DIR/foo.sockrpc.pb.h (both). CMake projects use
// sockrpc_generate() (tools/protoc_plugin/sockrpc_generate.cmake) instead.

#include "google/protobuf/compiler/plugin.h"
#include "tools/protoc_plugin/generator.h"

int main(int argc, char* argv[]) {
  sockrpc::generator::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
