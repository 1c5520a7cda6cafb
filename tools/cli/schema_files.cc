// Schemas from files: .proto files parsed at run time (--proto, -I) and
// FileDescriptorSets (--protoset).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/compiler/importer.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "tools/cli/schema_internal.h"

namespace sockrpc {
namespace cli {
namespace internal {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::compiler::DiskSourceTree;

// Where protobuf's own .proto files (google/protobuf/*.proto, the
// well-known types) are installed; searched after every -I directory.
#ifdef SOCKRPC_PROTOBUF_INCLUDE_DIR
constexpr char kProtobufIncludeDir[] = SOCKRPC_PROTOBUF_INCLUDE_DIR;
#else
constexpr char kProtobufIncludeDir[] = "/usr/include";
#endif

// Collects the parser's errors as "file:line:column: message" lines.
class ParseErrors final
    : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!text_.empty()) text_ += "\n";
    if (line < 0) {
      absl::StrAppend(&text_, filename, ": ", message);
    } else {
      absl::StrAppend(&text_, filename, ":", line + 1, ":", column + 1, ": ",
                      message);
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The parser, what it reads from, and the pool it fills.
class ProtoFileSource final : public DescriptorSource {
 public:
  ProtoFileSource() : importer_(&source_tree_, &errors_) {}
  const DescriptorPool* pool() const override { return importer_.pool(); }

  DiskSourceTree* source_tree() { return &source_tree_; }
  google::protobuf::compiler::Importer* importer() { return &importer_; }
  const ParseErrors& errors() const { return errors_; }

 private:
  DiskSourceTree source_tree_;
  ParseErrors errors_;
  google::protobuf::compiler::Importer importer_;  // uses the two above
};

// A pool over a database of FileDescriptorProtos.
class DatabaseSource final : public DescriptorSource {
 public:
  explicit DatabaseSource(
      std::unique_ptr<google::protobuf::SimpleDescriptorDatabase> database)
      : database_(std::move(database)), pool_(database_.get(), &errors_) {}
  const DescriptorPool* pool() const override { return &pool_; }
  const PoolErrors& errors() const { return errors_; }

 private:
  std::unique_ptr<google::protobuf::SimpleDescriptorDatabase> database_;
  PoolErrors errors_;
  DescriptorPool pool_;  // reads database_, reports to errors_
};

// The directory part of `path` ("." if none).
std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void AppendServices(const FileDescriptor* file,
                    std::vector<const ServiceDescriptor*>* services) {
  for (int i = 0; i < file->service_count(); ++i) {
    services->push_back(file->service(i));
  }
}

// True if `path` names an existing file.
bool FileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && !S_ISDIR(info.st_mode);
}

// The name under which `tree` knows the --proto file `file`, found as
// protoc finds its inputs: a path to an existing file that lies under an
// -I directory is known by its path relative to that directory; a path
// that is not a file on disk (or lies under no -I directory) is taken as
// a name relative to the -I directories and looked up in them. Without -I
// (`own_directory`), a file outside every mapped directory is imported
// from its own directory. Only a file shadowed by a different file of the
// same name in an earlier -I directory is a conflict.
absl::StatusOr<std::string> VirtualNameOf(const std::string& file,
                                          bool own_directory,
                                          DiskSourceTree* tree) {
  std::string disk_file;
  if (!FileExists(file)) {
    if (tree->VirtualFileToDiskFile(file, &disk_file)) return file;
    return absl::NotFoundError(
        absl::StrCat("cannot open ", file, ": no such file",
                     own_directory ? "" : ", here or in any -I directory"));
  }
  std::string virtual_file;
  std::string shadowing_file;
  DiskSourceTree::DiskFileToVirtualFileResult result =
      tree->DiskFileToVirtualFile(file, &virtual_file, &shadowing_file);
  if (result == DiskSourceTree::NO_MAPPING) {
    // A name relative to the -I directories as well as to here.
    if (!own_directory && tree->VirtualFileToDiskFile(file, &disk_file)) {
      return file;
    }
    // Import it from its own directory, as protoc would with -I set to
    // that directory.
    tree->MapPath("", DirectoryOf(file));
    result = tree->DiskFileToVirtualFile(file, &virtual_file, &shadowing_file);
  }
  switch (result) {
    case DiskSourceTree::SUCCESS:
      return virtual_file;
    case DiskSourceTree::SHADOWED:
      return absl::InvalidArgumentError(absl::StrCat(
          file, " is shadowed by ", shadowing_file,
          ", a different file that an earlier -I directory holds under the "
          "same name ",
          virtual_file));
    case DiskSourceTree::CANNOT_OPEN:
      return absl::NotFoundError(absl::StrCat(
          "cannot open ", file, " (no such file, or not readable)"));
    case DiskSourceTree::NO_MAPPING:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no -I directory holds ", file));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schema>> LoadFromProtoFiles(
    const SchemaOptions& options) {
  auto source = std::make_unique<ProtoFileSource>();
  DiskSourceTree* tree = source->source_tree();
  for (const std::string& dir : options.import_dirs) tree->MapPath("", dir);
  tree->MapPath("", kProtobufIncludeDir);

  std::vector<const ServiceDescriptor*> services;
  for (const std::string& file : options.proto_files) {
    absl::StatusOr<std::string> virtual_file =
        VirtualNameOf(file, options.import_dirs.empty(), tree);
    if (!virtual_file.ok()) return virtual_file.status();
    const FileDescriptor* descriptor =
        source->importer()->Import(*virtual_file);
    if (descriptor == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse ", file, ":\n", source->errors().text()));
    }
    AppendServices(descriptor, &services);
  }
  return std::make_unique<LoadedSchema>(std::move(source), std::move(services));
}

absl::StatusOr<std::unique_ptr<Schema>> LoadFromProtoset(
    const SchemaOptions& options) {
  std::ifstream in(options.protoset, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", options.protoset,
                                            ": ", std::strerror(errno)));
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(bytes.str())) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.protoset,
                     " is not a FileDescriptorSet (write one with protoc "
                     "--descriptor_set_out=FILE --include_imports)"));
  }
  auto database =
      std::make_unique<google::protobuf::SimpleDescriptorDatabase>();
  absl::flat_hash_set<std::string> names;
  std::vector<std::string> order;
  for (const google::protobuf::FileDescriptorProto& file : set.file()) {
    if (!names.insert(file.name()).second) continue;  // a repeated file
    database->Add(file);
    order.push_back(file.name());
  }
  auto source = std::make_unique<DatabaseSource>(std::move(database));
  std::vector<const ServiceDescriptor*> services;
  for (const std::string& name : order) {
    const FileDescriptor* file = source->pool()->FindFileByName(name);
    if (file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot use ", name, " from ", options.protoset, ":\n",
          source->errors().text().empty()
              ? "it imports a file the set does not hold (write the set with "
                "--include_imports)"
              : source->errors().text()));
    }
    AppendServices(file, &services);
  }
  return std::make_unique<LoadedSchema>(std::move(source), std::move(services));
}

}  // namespace internal
}  // namespace cli
}  // namespace sockrpc
