// Schemas from a server's reflection service (proto/sockrpc/reflection.proto):
// the server's list of services, and a descriptor database that fetches
// each file the pool needs with FileContainingSymbol, dependencies
// included, and keeps every file it has seen.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "sockrpc/reflection_client.sockrpc.pb.h"
#include "tools/cli/schema_internal.h"

namespace sockrpc {
namespace cli {
namespace internal {
namespace {

namespace reflection_v1 = ::sockrpc::reflection::v1;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptorProto;

// ReflectionDatabase answers the pool from the files fetched so far, and
// asks the server for the file of any symbol it does not have yet. The
// pool calls it under its own lock, one call at a time.
class ReflectionDatabase final : public google::protobuf::DescriptorDatabase {
 public:
  ReflectionDatabase(std::shared_ptr<Channel> channel,
                     const SchemaOptions& options)
      : stub_(std::move(channel)),
        metadata_(options.metadata),
        timeout_(options.timeout) {}

  bool FindFileByName(const std::string& filename,
                      FileDescriptorProto* output) override {
    // A file's dependencies arrive with it, so a name never needs a call.
    return cache_.FindFileByName(filename, output);
  }

  bool FindFileContainingSymbol(const std::string& symbol_name,
                                FileDescriptorProto* output) override {
    if (cache_.FindFileContainingSymbol(symbol_name, output)) return true;
    if (missing_.contains(symbol_name)) return false;
    absl::Status status = Fetch(symbol_name);
    if (!status.ok()) {
      missing_.insert(symbol_name);
      if (status.code() != absl::StatusCode::kNotFound) last_error_ = status;
      return false;
    }
    return cache_.FindFileContainingSymbol(symbol_name, output);
  }

  bool FindFileContainingExtension(const std::string& /*containing_type*/,
                                   int /*field_number*/,
                                   FileDescriptorProto* /*output*/) override {
    return false;  // the reflection service has no such query
  }

  // The last failure of a reflection call other than NOT_FOUND (OK if
  // none): the reason a symbol may be missing.
  const absl::Status& last_error() const { return last_error_; }

  // Calls ListServices.
  absl::StatusOr<reflection_v1::ListServicesReply> ListServices() {
    ClientContext context;
    Prepare(&context);
    return stub_.ListServices(&context, reflection_v1::ListServicesRequest());
  }

 private:
  void Prepare(ClientContext* context) const {
    context->set_timeout(timeout_);
    for (const auto& [key, value] : metadata_) {
      context->AddMetadata(key, value);
    }
  }

  // Asks the server for the file defining `symbol` and caches what comes.
  absl::Status Fetch(const std::string& symbol) {
    ClientContext context;
    Prepare(&context);
    reflection_v1::FileContainingSymbolRequest request;
    request.set_symbol(symbol);
    absl::StatusOr<reflection_v1::FileContainingSymbolReply> reply =
        stub_.FileContainingSymbol(&context, request);
    if (!reply.ok()) return reply.status();
    for (const std::string& bytes : reply->file_descriptor_protos()) {
      FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        return absl::InternalError(
            "the server sent a file descriptor that does not parse");
      }
      // The cache refuses (and logs) a second copy of a file: skip those.
      if (!files_.insert(file.name()).second) continue;
      cache_.AddAndOwn(new FileDescriptorProto(std::move(file)));
    }
    return absl::OkStatus();
  }

  reflection_v1::Reflection::Stub stub_;
  const Metadata metadata_;
  const absl::Duration timeout_;
  google::protobuf::SimpleDescriptorDatabase cache_;
  absl::flat_hash_set<std::string> files_;    // names of the files in cache_
  absl::flat_hash_set<std::string> missing_;  // symbols the server lacks
  absl::Status last_error_;
};

// The database and the pool that reads it.
class ReflectionSource final : public DescriptorSource {
 public:
  explicit ReflectionSource(std::unique_ptr<ReflectionDatabase> database)
      : database_(std::move(database)), pool_(database_.get(), &errors_) {}
  const DescriptorPool* pool() const override { return &pool_; }
  ReflectionDatabase* database() { return database_.get(); }
  const PoolErrors& errors() const { return errors_; }

 private:
  std::unique_ptr<ReflectionDatabase> database_;
  PoolErrors errors_;
  DescriptorPool pool_;  // reads database_, reports to errors_
};

// Rewords the failures of the first reflection call for the user.
absl::Status ExplainListFailure(const std::string& address,
                                const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnimplemented:
      return absl::UnimplementedError(absl::StrCat(
          "the server at ", address,
          " does not serve reflection (it may have it turned off): give the "
          "schema with --proto FILE [-I DIR] or --protoset FILE (server said: ",
          status.message(), ")"));
    case absl::StatusCode::kUnavailable:
      return absl::UnavailableError(absl::StrCat(
          "cannot reach the server at ", address, ": ", status.message()));
    default:
      return absl::Status(status.code(),
                          absl::StrCat("reflection call to ", address,
                                       " failed: ", status.message()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schema>> LoadFromReflection(
    const SchemaOptions& options) {
  ChannelOptions channel_options;
  channel_options.connect_timeout = options.connect_timeout;
  channel_options.tls = options.tls;
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(options.address, channel_options);
  if (!channel.ok()) return channel.status();
  auto source = std::make_unique<ReflectionSource>(
      std::make_unique<ReflectionDatabase>(*std::move(channel), options));
  absl::StatusOr<reflection_v1::ListServicesReply> listing =
      source->database()->ListServices();
  if (!listing.ok()) {
    return ExplainListFailure(options.address, listing.status());
  }
  // Fetch every listed service's file now, so that connection troubles
  // show here and not as a missing symbol later.
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const reflection_v1::ServiceInfo& info : listing->services()) {
    const google::protobuf::ServiceDescriptor* service =
        source->pool()->FindServiceByName(info.name());
    if (service != nullptr) {
      services.push_back(service);
      continue;
    }
    if (!source->database()->last_error().ok()) {
      return source->database()->last_error();
    }
    if (!source->errors().text().empty()) {
      return absl::InternalError(absl::StrCat("the server's descriptors for ",
                                              info.name(), " do not build:\n",
                                              source->errors().text()));
    }
    // Otherwise the server has no descriptor for this service (one written
    // without generated code): it cannot be called from here.
  }
  return std::make_unique<LoadedSchema>(std::move(source), std::move(services));
}

}  // namespace internal
}  // namespace cli
}  // namespace sockrpc
