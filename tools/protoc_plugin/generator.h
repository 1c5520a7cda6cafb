// Generator: the code generator behind protoc-gen-sockrpc.
//
// For each .proto file it writes, next to protoc's <name>.pb.h and .pb.cc,
// the client half <name>_client.sockrpc.pb.h/.cc (for every service Foo,
// Foo::StubInterface and Foo::Stub), the server half
// <name>_server.sockrpc.pb.h/.cc (Foo::Service, Foo::CallbackService) and
// <name>.sockrpc.pb.h, which includes both; each half also declares the
// class Foo that holds the service's name (emit.h).
//
// Every kind of method is generated: unary, server streaming, client
// streaming and bidirectional (see methods.h for their signatures).
// Generation fails, with a message naming the file and methods, for
// methods whose C++ names would collide, and for unknown parameters.
// Thread-compatible; protoc calls it from one thread.
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_GENERATOR_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_GENERATOR_H_

#include <cstdint>
#include <string>

#include "google/protobuf/compiler/code_generator.h"
#include "google/protobuf/descriptor.h"

namespace sockrpc::generator {

class Generator final : public google::protobuf::compiler::CodeGenerator {
 public:
  // Generates the files of `file` into `context`. `parameter` is the text
  // before ":" in --sockrpc_out=PARAMETER:DIR; none are accepted yet, so any
  // parameter is an error. On failure, returns false with `*error` set.
  bool Generate(const google::protobuf::FileDescriptor* file,
                const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  // Proto3 optional fields change nothing in service code.
  uint64_t GetSupportedFeatures() const override {
    return FEATURE_PROTO3_OPTIONAL;
  }
};

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_GENERATOR_H_
