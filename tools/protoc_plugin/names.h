// Internal to protoc-gen-sockrpc: how the generator names things in C++.
//
// Message types are named exactly as protoc's C++ generator names them, so
// that generated services refer to the classes in the .pb.h files; services
// and methods keep their proto names unless those would not compile or would
// clash with the generated code's own members or parameters, in which case
// they gain a trailing underscore (the name on the wire never changes).
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_NAMES_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_NAMES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace sockrpc::generator {

// QualifiedClassName returns the fully qualified C++ class of `message` as
// protoc's C++ generator declares it: "::a::b::Outer_Inner" for message
// Outer.Inner in package a.b, "::Outer_Inner" without a package.
std::string QualifiedClassName(const google::protobuf::Descriptor* message);

// CppNamespace returns the C++ namespace of the generated code of `file`:
// "a::b" for package a.b, "" without a package.
std::string CppNamespace(const google::protobuf::FileDescriptor* file);

// ServiceClassName returns the C++ name of the class generated for
// `service`: its proto name, plus "_" if that name is a C++ keyword or would
// clash with the generated code (a service named Stub, Service or
// CallbackService, or one that would hide a namespace the code uses, such as
// absl).
std::string ServiceClassName(
    const google::protobuf::ServiceDescriptor* service);

// MethodName returns the C++ name of the member functions generated for
// `method`: its proto name, plus "_" if that name is a C++ keyword or would
// clash with a member or parameter of the generated classes.
std::string MethodName(const google::protobuf::MethodDescriptor* method);

// AsyncMethodName returns the C++ name of the asynchronous form that
// Foo::Stub has of the unary `method`: "Async" and its proto name
// ("AsyncBar" for Bar), plus "_" if another method of the service already
// has that C++ name. Generator::Generate() rejects the rare service in which
// the name with "_" is taken as well.
std::string AsyncMethodName(const google::protobuf::MethodDescriptor* method);

// WireMethodName returns the name `method` is called by on the wire:
// "/a.b.Service/Method" ("/Service/Method" without a package).
std::string WireMethodName(const google::protobuf::MethodDescriptor* method);

// StripProto returns `filename` without its ".proto" suffix.
std::string StripProto(absl::string_view filename);

// HeaderGuard returns the include guard for the generated header
// `header_path`: "A_B_FOO_SOCKRPC_PB_H_" for "a/b/foo.sockrpc.pb.h".
std::string HeaderGuard(absl::string_view header_path);

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_NAMES_H_
