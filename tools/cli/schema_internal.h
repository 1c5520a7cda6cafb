// The pieces behind LoadSchema(): one loader per source of definitions,
// and the Schema they all return. Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_SCHEMA_INTERNAL_H_
#define SOCKRPC_TOOLS_CLI_SCHEMA_INTERNAL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {
namespace internal {

// DescriptorSource owns a DescriptorPool and whatever feeds it (a parser,
// a database, a connection).
class DescriptorSource {
 public:
  virtual ~DescriptorSource() = default;
  virtual const google::protobuf::DescriptorPool* pool() const = 0;
};

// SourceHolder keeps a LoadedSchema's source in a base class listed before
// Schema, so that the source is built before and destroyed after Schema's
// message factory: the factory's prototypes read their descriptors while
// they are destroyed.
struct SourceHolder {
  explicit SourceHolder(std::unique_ptr<DescriptorSource> source)
      : source(std::move(source)) {}
  std::unique_ptr<DescriptorSource> source;
};

// PoolErrors collects the errors a DescriptorPool reports while it builds
// files, as "file: element: message" lines.
class PoolErrors final
    : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message* /*descriptor*/,
                ErrorLocation /*location*/,
                const std::string& message) override {
    absl::StrAppend(&text_, text_.empty() ? "" : "\n", filename, ": ",
                    element_name, ": ", message);
  }
  // Everything reported so far ("" if nothing).
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// LoadedSchema: a Schema over a DescriptorSource and a chosen list of
// services of its pool.
class LoadedSchema final : private SourceHolder, public Schema {
 public:
  LoadedSchema(std::unique_ptr<DescriptorSource> source,
               std::vector<const google::protobuf::ServiceDescriptor*> services)
      : SourceHolder(std::move(source)), services_(std::move(services)) {}

  std::vector<const google::protobuf::ServiceDescriptor*> Services()
      const override {
    return services_;
  }
  const google::protobuf::DescriptorPool* pool() const override {
    return source->pool();
  }

 private:
  const std::vector<const google::protobuf::ServiceDescriptor*> services_;
};

// The loaders, one per source; LoadSchema() picks one. Errors as for
// LoadSchema().
absl::StatusOr<std::unique_ptr<Schema>> LoadFromProtoFiles(
    const SchemaOptions& options);
absl::StatusOr<std::unique_ptr<Schema>> LoadFromProtoset(
    const SchemaOptions& options);
absl::StatusOr<std::unique_ptr<Schema>> LoadFromReflection(
    const SchemaOptions& options);

}  // namespace internal
}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_SCHEMA_INTERNAL_H_
