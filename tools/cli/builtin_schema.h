// The schema the tool always has, whatever --proto, --protoset or a
// server's reflection give: the built-in services of
// proto/sockrpc/reflection.proto, health.proto and stats.proto, whose
// generated code the tool links.
// `sockrpc tap` and `sockrpc decode` decode its calls with it when their
// own schema lacks them. Internal to the tool.
//
// Thread-safe: the descriptors are protobuf's generated ones, immutable.
#ifndef SOCKRPC_TOOLS_CLI_BUILTIN_SCHEMA_H_
#define SOCKRPC_TOOLS_CLI_BUILTIN_SCHEMA_H_

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace sockrpc {
namespace cli {

// FindBuiltinMethod returns the method `method` of the built-in service
// named `service` ("sockrpc.reflection.v1.Reflection",
// "sockrpc.health.v1.Health", "sockrpc.stats.v1.Stats"), or null if there
// is none. Its types are in the generated pool: build their messages with
// google::protobuf::MessageFactory::generated_factory().
const google::protobuf::MethodDescriptor* FindBuiltinMethod(
    absl::string_view service, absl::string_view method);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_BUILTIN_SCHEMA_H_
