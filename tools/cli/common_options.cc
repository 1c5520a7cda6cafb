#include "tools/cli/common_options.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "transport/fd_passing.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace cli {

absl::StatusOr<Metadata> ParseHeaders(absl::string_view flag,
                                      const std::vector<std::string>& headers) {
  Metadata metadata;
  for (const std::string& header : headers) {
    size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " takes KEY:VALUE, got \"", header, "\""));
    }
    std::string key = absl::AsciiStrToLower(header.substr(0, colon));
    std::string value = std::string(
        absl::StripLeadingAsciiWhitespace(header.substr(colon + 1)));
    if (absl::EndsWith(key, "-bin")) {
      std::string decoded;
      if (!absl::Base64Unescape(value, &decoded)) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, " ", key, ": a -bin key takes a base64 value, got \"", value,
            "\""));
      }
      value = std::move(decoded);
    }
    absl::Status valid = ValidateMetadataEntry(key, value);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", header, ": ", valid.message()));
    }
    metadata.emplace_back(std::move(key), std::move(value));
  }
  return metadata;
}

void AddCommonOptions(ArgParser* parser, CommonOptions* options,
                      absl::string_view deadline_default) {
  parser->AddList({"--proto"}, "FILE",
                  "read the schema from this .proto file, parsed now, instead "
                  "of asking the server by reflection; its imports are looked "
                  "up in the -I directories, then among protobuf's own files",
                  &options->proto_files);
  parser->AddList({"-I", "--import-path"}, "DIR",
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
  parser->AddList({"--rpc-header"}, "KEY:VALUE",
                  "as -H, but sent with the method's calls only, not with "
                  "reflection calls",
                  &options->rpc_headers);
  parser->AddList({"--reflect-header"}, "KEY:VALUE",
                  "as -H, but sent with reflection calls only",
                  &options->reflect_headers);
  parser->AddString({"--deadline"}, "DURATION",
                    absl::StrCat("give up on each call after this long "
                                 "(e.g. 2s, 500ms, 1m); default: ",
                                 deadline_default),
                    &options->deadline);
  parser->AddString({"--connect-timeout"}, "DURATION",
                    "give up on reaching the server after this long: the "
                    "connection and the server's answer to it (its preface) "
                    "must both come in time, even without --deadline (a "
                    "shorter --deadline still ends the call first); "
                    "default: 10s",
                    &options->connect_timeout);
  AddTlsOptions(parser, &options->tls);
}

void AddTlsOptions(ArgParser* parser, TlsFlags* flags) {
  parser->AddBool({"--tls"},
                  "speak TLS to a TCP server, checking its certificate "
                  "against the system's trust roots",
                  &flags->tls);
  parser->AddString({"--cacert"}, "FILE",
                    "speak TLS, trusting the roots in FILE (PEM) for the "
                    "server's certificate",
                    &flags->cacert);
  parser->AddString({"--cert"}, "FILE",
                    "speak TLS with this client certificate (PEM; with --key), "
                    "for servers that ask for one",
                    &flags->cert);
  parser->AddString({"--key"}, "FILE", "the private key of --cert (PEM)",
                    &flags->key);
  parser->AddString({"--server-name"}, "NAME",
                    "speak TLS, expecting NAME in the server's certificate "
                    "(default: the address's host)",
                    &flags->server_name);
  parser->AddBool({"--insecure"},
                  "speak TLS but believe any server certificate (to look at "
                  "a server by hand; never in production)",
                  &flags->insecure);
}

absl::StatusOr<std::optional<TlsChannelOptions>> TlsOptionsOf(
    const TlsFlags& options) {
  if (!options.tls && options.cacert.empty() && options.cert.empty() &&
      options.key.empty() && options.server_name.empty() && !options.insecure) {
    return std::nullopt;
  }
  if (options.cert.empty() != options.key.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  if (options.insecure && !options.cacert.empty()) {
    return absl::InvalidArgumentError(
        "--insecure checks no certificate: drop --cacert or --insecure");
  }
  TlsChannelOptions tls;
  tls.ca_file = options.cacert;
  tls.certificate_file = options.cert;
  tls.private_key_file = options.key;
  tls.server_name = options.server_name;
  tls.insecure_skip_verify = options.insecure;
  return tls;
}

ChannelOptions CallSettings::channel_options() const {
  ChannelOptions options;
  options.connect_timeout = connect_timeout;
  options.tls = tls;
  if (accept_fds) options.max_fds_per_message = kMaxFdsPerMessageLimit;
  return options;
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
  settings.accept_fds = options.accept_fds;
  if (!options.proto_files.empty() && !options.protoset.empty()) {
    return absl::InvalidArgumentError(
        "give either --proto or --protoset, not both");
  }
  if (!options.import_dirs.empty() && options.proto_files.empty()) {
    return absl::InvalidArgumentError("-I is only of use with --proto");
  }
  SOCKRPC_ASSIGN_OR_RETURN(Metadata both, ParseHeaders("-H", options.headers));
  SOCKRPC_ASSIGN_OR_RETURN(Metadata rpc_only,
                           ParseHeaders("--rpc-header", options.rpc_headers));
  SOCKRPC_ASSIGN_OR_RETURN(
      Metadata reflect_only,
      ParseHeaders("--reflect-header", options.reflect_headers));
  settings.metadata = both;
  settings.metadata.insert(settings.metadata.end(), rpc_only.begin(),
                           rpc_only.end());
  settings.schema.metadata = std::move(both);
  settings.schema.metadata.insert(settings.schema.metadata.end(),
                                  reflect_only.begin(), reflect_only.end());
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
  if (!absl::ParseDuration(options.connect_timeout,
                           &settings.connect_timeout) ||
      settings.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--connect-timeout takes a positive duration such as 10s or 500ms, "
        "got \"",
        options.connect_timeout, "\""));
  }
  settings.schema.connect_timeout = settings.connect_timeout;
  SOCKRPC_ASSIGN_OR_RETURN(settings.tls, TlsOptionsOf(options.tls));
  settings.schema.tls = settings.tls;
  return settings;
}

bool LooksLikeAddress(absl::string_view arg) {
  return absl::StrContains(arg, ':');
}

int ReportFailure(const absl::Status& status) {
  std::string line =
      absl::StrCat("ERROR: ", absl::StatusCodeToString(status.code()), ": ",
                   status.message(), "\n");
  std::fputs(line.c_str(), stderr);
  return 1;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view option,
                                                     const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) ||
      duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " takes a positive duration such as 1s or ",
                     "500ms, got \"", text, "\""));
  }
  return duration;
}

}  // namespace cli
}  // namespace sockrpc
