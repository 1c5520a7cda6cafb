// Internal to protoc-gen-sockrpc: writers of the generated files.
//
// All expect a file that Generator::Generate() has validated (no two
// member functions of a generated class with the same C++ name).
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_

#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"

namespace sockrpc::generator {

// The generated files of "a/b/foo.proto", relative to the output directory:
//   a/b/foo_client.sockrpc.pb.h, .cc  the client half: for each service Foo,
//                                     Foo::StubInterface and Foo::Stub;
//                                     built against the client runtime only
//   a/b/foo_server.sockrpc.pb.h, .cc  the server half: Foo::Service and
//                                     Foo::CallbackService; built against
//                                     the server runtime only
//   a/b/foo.sockrpc.pb.h              both halves, for code that uses both
// Each half declares the class Foo itself (its name and nested classes)
// behind an include guard of its own, so either can be included alone or
// both together.
std::string HeaderFileName(const google::protobuf::FileDescriptor* file);
std::string ClientHeaderFileName(const google::protobuf::FileDescriptor* file);
std::string ClientSourceFileName(const google::protobuf::FileDescriptor* file);
std::string ServerHeaderFileName(const google::protobuf::FileDescriptor* file);
std::string ServerSourceFileName(const google::protobuf::FileDescriptor* file);

// EmitHeader writes foo.sockrpc.pb.h, which includes the two halves.
void EmitHeader(const google::protobuf::FileDescriptor* file,
                google::protobuf::io::Printer* printer);

// EmitClientHeader and EmitServerHeader write the declarations of a half,
// EmitClientSource and EmitServerSource its definitions.
void EmitClientHeader(const google::protobuf::FileDescriptor* file,
                      google::protobuf::io::Printer* printer);
void EmitServerHeader(const google::protobuf::FileDescriptor* file,
                      google::protobuf::io::Printer* printer);
void EmitClientSource(const google::protobuf::FileDescriptor* file,
                      google::protobuf::io::Printer* printer);
void EmitServerSource(const google::protobuf::FileDescriptor* file,
                      google::protobuf::io::Printer* printer);

// With the "mocks" parameter, one more file: "a/b/foo_mock.sockrpc.pb.h",
// where EmitMockHeader writes a gMock mock of each service's
// StubInterface, class MockFooStub.
std::string MockHeaderFileName(const google::protobuf::FileDescriptor* file);
void EmitMockHeader(const google::protobuf::FileDescriptor* file,
                    google::protobuf::io::Printer* printer);

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_EMIT_H_
