// Internal to protoc-gen-sockrpc: writers of the generated files.
//
// Both expect a file that Generator::Generate() has validated (no two
// member functions of a generated class with the same C++ name).
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_

#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"

namespace sockrpc::generator {

// The names of the generated files for `file`, relative to the output
// directory: "a/b/foo.sockrpc.pb.h" and "a/b/foo.sockrpc.pb.cc" for
// "a/b/foo.proto".
std::string HeaderFileName(const google::protobuf::FileDescriptor* file);
std::string SourceFileName(const google::protobuf::FileDescriptor* file);

// EmitHeader writes the .sockrpc.pb.h of `file`: for each service Foo, the
// class Foo with its client side Foo::Stub and its server side, the base
// classes Foo::Service and Foo::CallbackService.
void EmitHeader(const google::protobuf::FileDescriptor* file,
                google::protobuf::io::Printer* printer);

// EmitSource writes the .sockrpc.pb.cc of `file`, which defines what
// EmitHeader declared.
void EmitSource(const google::protobuf::FileDescriptor* file,
                google::protobuf::io::Printer* printer);

// With the "mocks" parameter, a third file: "a/b/foo_mock.sockrpc.pb.h",
// where EmitMockHeader writes a gMock mock of each service's
// StubInterface, class MockFooStub.
std::string MockHeaderFileName(const google::protobuf::FileDescriptor* file);
void EmitMockHeader(const google::protobuf::FileDescriptor* file,
                    google::protobuf::io::Printer* printer);

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_
