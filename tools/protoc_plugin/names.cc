#include "tools/protoc_plugin/names.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"

namespace sockrpc::generator {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;

// The words protoc's C++ generator (3.21) treats as keywords: a message
// named one of them gets a trailing underscore in C++. Message names must
// follow exactly this list to name the classes protoc declares.
bool IsProtocKeyword(absl::string_view name) {
  static const auto* const kKeywords =
      new absl::flat_hash_set<std::string>(absl::StrSplit(
          "NULL alignas alignof and and_eq asm auto bitand bitor bool break "
          "case catch char class compl const constexpr const_cast continue "
          "decltype default delete do double dynamic_cast else enum explicit "
          "export extern false float for friend goto if inline int long "
          "mutable namespace new noexcept not not_eq nullptr operator or "
          "or_eq private protected public register reinterpret_cast return "
          "short signed sizeof static static_assert static_cast struct "
          "switch template this thread_local throw true try typedef typeid "
          "typename union unsigned using virtual void volatile wchar_t while "
          "xor xor_eq",
          ' '));
  return kKeywords->contains(name);
}

// Keywords of C++ (up to C++20) that protoc's list lacks. The names we choose
// ourselves avoid them too, so generated code also compiles as C++20.
bool IsOtherKeyword(absl::string_view name) {
  static const auto* const kKeywords =
      new absl::flat_hash_set<absl::string_view>{
          "char8_t",  "char16_t", "char32_t",  "co_await",  "co_return",
          "co_yield", "concept",  "consteval", "constinit", "requires",
      };
  return kKeywords->contains(name);
}

// Names a generated service class must not take: the nested classes it
// declares, and the namespaces generated code refers to unqualified.
bool ClashesAsServiceName(absl::string_view name) {
  static const auto* const kTaken = new absl::flat_hash_set<absl::string_view>{
      "StubInterface", "Stub",   "Service", "CallbackService",
      "absl",          "google", "sockrpc", "std",
  };
  return IsProtocKeyword(name) || IsOtherKeyword(name) ||
         kTaken->contains(name);
}

// Names a generated method must not take: members of the generated classes
// and of ::sockrpc::Service, the parameter names of the generated methods,
// and the namespaces generated code refers to unqualified.
bool ClashesAsMethodName(absl::string_view name) {
  static const auto* const kTaken = new absl::flat_hash_set<absl::string_view>{
      // Members of the generated classes and of their base.
      "StubInterface",
      "Stub",
      "Service",
      "CallbackService",
      "channel_",
      "kServiceName",
      "AddUnaryMethod",
      "AddClientStreamingMethod",
      "AddServerStreamingMethod",
      "AddBidiStreamingMethod",
      "AddCallbackUnaryMethod",
      "AddCallbackClientStreamingMethod",
      "AddCallbackServerStreamingMethod",
      "AddCallbackBidiStreamingMethod",
      "Method",
      "methods",
      "name",
      // Foo::Stub's callback forms: the class, its accessor and member.
      "Async",
      "async",
      "async_forms_",
      // Parameters of the generated methods.
      "context",
      "request",
      "reply",
      "reader",
      "writer",
      "stream",
      "reactor",
      "done",
      // Namespaces.
      "absl",
      "google",
      "sockrpc",
      "std",
  };
  return IsProtocKeyword(name) || IsOtherKeyword(name) ||
         kTaken->contains(name);
}

// The C++ name of `message` within its namespace, as protoc's C++ generator
// makes it: the name of the enclosing message's class, "_", the message's
// own name, and an underscore more if the result is a keyword.
std::string ClassName(const Descriptor* message) {
  std::string name = message->name();
  if (message->containing_type() != nullptr) {
    name = absl::StrCat(ClassName(message->containing_type()), "_", name);
  }
  if (IsProtocKeyword(name)) name.push_back('_');
  return name;
}

}  // namespace

std::string QualifiedClassName(const Descriptor* message) {
  const std::string ns = CppNamespace(message->file());
  if (ns.empty()) return absl::StrCat("::", ClassName(message));
  return absl::StrCat("::", ns, "::", ClassName(message));
}

std::string CppNamespace(const FileDescriptor* file) {
  return absl::StrReplaceAll(file->package(), {{".", "::"}});
}

std::string ServiceClassName(const ServiceDescriptor* service) {
  std::string name = service->name();
  if (ClashesAsServiceName(name)) name.push_back('_');
  return name;
}

std::string MethodName(const MethodDescriptor* method) {
  std::string name = method->name();
  if (ClashesAsMethodName(name)) name.push_back('_');
  return name;
}

std::string AsyncMethodName(const MethodDescriptor* method) {
  std::string name = absl::StrCat("Async", method->name());
  const ServiceDescriptor* service = method->service();
  for (int i = 0; i < service->method_count(); ++i) {
    if (MethodName(service->method(i)) == name) {
      name.push_back('_');
      break;
    }
  }
  return name;
}

std::string WireMethodName(const MethodDescriptor* method) {
  return absl::StrCat("/", method->service()->full_name(), "/", method->name());
}

std::string StripProto(absl::string_view filename) {
  absl::ConsumeSuffix(&filename, ".proto");
  return std::string(filename);
}

std::string HeaderGuard(absl::string_view header_path) {
  std::string guard;
  guard.reserve(header_path.size() + 1);
  for (char c : header_path) {
    guard.push_back(absl::ascii_isalnum(c) ? absl::ascii_toupper(c) : '_');
  }
  guard.push_back('_');
  return guard;
}

}  // namespace sockrpc::generator
