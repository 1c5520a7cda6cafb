#include "tools/cli/common_options.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace cli {

void AddCommonOptions(ArgParser* parser, CommonOptions* options,
                      absl::string_view deadline_default) {
  parser->AddList({"--proto"}, "FILE",
                  "read the schema from this .proto file, parsed now, instead "
                  "of asking the server by reflection; its imports are looked "
                  "up in the -I directories, then among protobuf's own files",
                  &options->proto_files);
  parser->AddList({"-I", "--import_path"}, "DIR",
                  "a directory where --proto files and their imports are "
                  "found, as protoc's -I; without one, each --proto file's own "
                  "directory",
                  &options->import_dirs);
  parser->AddString({"--protoset"}, "FILE",
                    "read the schema from a FileDescriptorSet, as written by "
                    "protoc --descriptor_set_out=FILE --include_imports",
                    &options->protoset);
  parser->AddList({"-H", "--header"}, "KEY:VALUE",
                  "request metadata to send with every call (reflection calls "
                  "included); the key is lower-cased; a key ending in -bin "
                  "takes its value in base64",
                  &options->headers);
  parser->AddString({"--deadline"}, "DURATION",
                    absl::StrCat("give up on each call after this long "
                                 "(e.g. 2s, 500ms, 1m); default: ",
                                 deadline_default),
                    &options->deadline);
}

void CallSettings::Apply(ClientContext* context) const {
  for (const auto& [key, value] : metadata) context->AddMetadata(key, value);
  if (deadline != absl::InfiniteDuration()) context->set_timeout(deadline);
}

absl::StatusOr<CallSettings> MakeCallSettings(const CommonOptions& options,
                                              absl::string_view address) {
  CallSettings settings;
  settings.schema.address = std::string(address);
  settings.schema.proto_files = options.proto_files;
  settings.schema.import_dirs = options.import_dirs;
  settings.schema.protoset = options.protoset;
  if (!options.proto_files.empty() && !options.protoset.empty()) {
    return absl::InvalidArgumentError(
        "give either --proto or --protoset, not both");
  }
  if (!options.import_dirs.empty() && options.proto_files.empty()) {
    return absl::InvalidArgumentError("-I is only of use with --proto");
  }
  for (const std::string& header : options.headers) {
    size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("-H takes KEY:VALUE, got \"", header, "\""));
    }
    std::string key = absl::AsciiStrToLower(header.substr(0, colon));
    std::string value = std::string(
        absl::StripLeadingAsciiWhitespace(header.substr(colon + 1)));
    if (absl::EndsWith(key, "-bin")) {
      std::string decoded;
      if (!absl::Base64Unescape(value, &decoded)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "-H ", key, ": a -bin key takes a base64 value, got \"", value,
            "\""));
      }
      value = std::move(decoded);
    }
    absl::Status valid = ValidateMetadataEntry(key, value);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("-H ", header, ": ", valid.message()));
    }
    settings.metadata.emplace_back(std::move(key), std::move(value));
  }
  settings.schema.metadata = settings.metadata;
  if (!options.deadline.empty()) {
    absl::Duration deadline;
    if (!absl::ParseDuration(options.deadline, &deadline) ||
        deadline <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--deadline takes a positive duration such as 2s or 500ms, got \"",
          options.deadline, "\""));
    }
    settings.deadline = deadline;
    settings.schema.timeout = deadline;
  }
  return settings;
}

int ReportFailure(const absl::Status& status) {
  std::string line =
      absl::StrCat("ERROR: ", absl::StatusCodeToString(status.code()), ": ",
                   status.message(), "\n");
  std::fputs(line.c_str(), stderr);
  return 1;
}

}  // namespace cli
}  // namespace sockrpc
