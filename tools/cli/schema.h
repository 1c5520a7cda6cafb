// Schema: the message and service definitions the `sockrpc` tool decodes
// with, loaded from one of three sources:
//   - a server's reflection service (the default),
//   - .proto files parsed at run time (--proto FILE, -I DIR),
//   - a FileDescriptorSet (--protoset FILE, as written by
//     `protoc --descriptor_set_out --include_imports`).
//
// Thread-compatible; a loaded Schema is immutable and may be shared.
#ifndef SOCKRPC_TOOLS_CLI_SCHEMA_H_
#define SOCKRPC_TOOLS_CLI_SCHEMA_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "transport/metadata.h"
#include "transport/tls_options.h"

namespace sockrpc {
namespace cli {

// Where to load a schema from. At most one of proto_files / protoset is
// set; with neither, the schema comes from the server at `address`.
struct SchemaOptions {
  std::string address;                   // server to ask by reflection
  std::vector<std::string> proto_files;  // --proto
  std::vector<std::string> import_dirs;  // -I
  std::string protoset;                  // --protoset
  // For reflection only: metadata sent with every reflection call (for a
  // server that authenticates all calls), and how long each call may take.
  Metadata metadata;
  absl::Duration timeout = absl::Seconds(10);
  // How long connecting to the server may take, its preface included.
  absl::Duration connect_timeout = absl::Seconds(10);
  // TLS for a TCP server (unset: plain).
  std::optional<TlsChannelOptions> tls;
};

class Schema {
 public:
  virtual ~Schema() = default;

  // The services the schema defines (for reflection: those the server
  // serves), by full name.
  virtual std::vector<const google::protobuf::ServiceDescriptor*> Services()
      const = 0;
  // The pool holding every loaded definition.
  virtual const google::protobuf::DescriptorPool* pool() const = 0;

  // Finds a method by "package.Service/Method", "package.Service.Method"
  // or the wire form "/package.Service/Method". INVALID_ARGUMENT for a
  // name that is not a method's (a service's name: it says which methods
  // the service has); NOT_FOUND names what is missing and what there is.
  absl::StatusOr<const google::protobuf::MethodDescriptor*> FindMethod(
      absl::string_view name) const;

  // A new, empty message of `type` (a type of pool()), owned by the caller
  // (it must not outlive the Schema).
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor* type) const;

 protected:
  google::protobuf::DynamicMessageFactory* factory() const {
    return &factory_;
  }

 private:
  mutable google::protobuf::DynamicMessageFactory factory_;
};

// LoadSchema loads a schema as `options` say. Errors name the source:
// UNAVAILABLE (server unreachable), UNIMPLEMENTED (server has reflection
// off: "use --proto or --protoset"), INVALID_ARGUMENT (a .proto that does
// not parse, with file:line), NOT_FOUND (missing file).
absl::StatusOr<std::unique_ptr<Schema>> LoadSchema(
    const SchemaOptions& options);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_SCHEMA_H_
