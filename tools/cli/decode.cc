// `sockrpc decode`: the tap's output, offline -- from a capture saved with
// `sockrpc tap --save` (or any pcapng of sockrpc over TCP), from the
// `tshark -z follow,tcp,raw` dump of a connection, or from the raw bytes of
// one or both directions of a connection.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/stubs/logging.h"
#include "tools/cli/commands.h"
#include "tools/cli/inspect_flags.h"
#include "tools/cli/inspector.h"
#include "tools/cli/pcapng_reader.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {
namespace {

constexpr char kDecodeUsage[] =
    "Usage: sockrpc decode [options] CAPTURE\n"
    "       sockrpc decode [options] --raw-client FILE [--raw-server FILE]\n"
    "Options: [--proto FILE -I DIR | --protoset FILE | --reflect ADDR]\n"
    "         [--json] [--color auto|always|never] [--max-bytes N]\n"
    "\n"
    "Prints the frames of a saved connection the way `sockrpc tap` does.\n"
    "CAPTURE is a pcapng file written by `sockrpc tap --save` (or by tcpdump\n"
    "or tshark, for sockrpc over TCP), or a `tshark -z follow,tcp,raw` dump.\n"
    "--raw-client/--raw-server take the bytes one side sent, as binary or\n"
    "as hex text. The schema comes from --proto/--protoset, or from a running\n"
    "server's reflection (--reflect ADDR); without one, messages are shown\n"
    "as raw protobuf fields.\n";

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The file's modification time: the timestamp of bytes with no capture
// times of their own.
absl::Time FileTime(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return absl::UnixEpoch();
  return absl::FromUnixSeconds(info.st_mtime);
}

// If `text` is hex (digits and white space only), returns its bytes.
std::optional<std::string> FromHexText(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (!absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (digits.empty() || digits.size() % 2 != 0) return std::nullopt;
  return absl::HexStringToBytes(digits);
}

bool IsFollowDump(absl::string_view text) {
  text = absl::StripLeadingAsciiWhitespace(text);
  return absl::StartsWith(text, "====") &&
         absl::StrContains(text.substr(0, 200), "Follow: tcp,raw");
}

// Decodes a `tshark -z follow,tcp,raw` dump: lines of hex, those of the
// second node (the server) indented by a tab, in the order sent.
void DecodeFollowDump(absl::string_view text, absl::Time time,
                      Inspector* inspector) {
  inspector->Open(1, time, "from a tshark follow,tcp,raw dump");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const bool server = absl::StartsWith(line, "\t");
    absl::string_view hex = absl::StripAsciiWhitespace(line);
    if (hex.empty() || absl::StartsWith(hex, "====") ||
        absl::StrContains(hex, ":")) {
      continue;  // the dump's banner and header lines
    }
    std::optional<std::string> bytes = FromHexText(hex);
    if (!bytes.has_value()) continue;
    inspector->Data(1, server ? Direction::kServerToClient
                              : Direction::kClientToServer,
                    time, *bytes);
  }
  inspector->End(1, Direction::kClientToServer, time, "");
  inspector->End(1, Direction::kServerToClient, time, "");
}

// Decodes the raw bytes of one direction (binary, or hex text).
int DecodeRawSide(const std::string& path, Direction direction,
                  Inspector* inspector) {
  absl::StatusOr<std::string> contents = ReadWholeFile(path);
  if (!contents.ok()) {
    std::fprintf(stderr, "sockrpc decode: %s\n",
                 std::string(contents.status().message()).c_str());
    return 1;
  }
  std::string bytes = FromHexText(*contents).value_or(*contents);
  const absl::Time time = FileTime(path);
  inspector->Data(1, direction, time, bytes);
  inspector->End(1, direction, time, "");
  return 0;
}

int DecodeCapture(const std::string& path, Inspector* inspector) {
  absl::StatusOr<std::unique_ptr<CaptureReader>> reader =
      CaptureReader::Open(path);
  if (!reader.ok()) {
    // Not pcapng: perhaps a tshark follow dump.
    absl::StatusOr<std::string> contents = ReadWholeFile(path);
    if (contents.ok() && IsFollowDump(*contents)) {
      DecodeFollowDump(*contents, FileTime(path), inspector);
      return 0;
    }
    std::fprintf(stderr, "sockrpc decode: %s\n",
                 std::string(reader.status().message()).c_str());
    return 1;
  }
  CaptureRecord record;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&record);
    if (!more.ok()) {
      std::fprintf(stderr,
                   "sockrpc decode: %s: %s (the frames before it are shown)\n",
                   path.c_str(), std::string(more.status().message()).c_str());
      return 1;
    }
    if (!*more) break;
    switch (record.kind) {
      case CaptureRecord::Kind::kOpen:
        inspector->Open(record.connection, record.time, record.text);
        break;
      case CaptureRecord::Kind::kData:
        inspector->Data(record.connection, record.direction, record.time,
                        record.bytes);
        break;
      case CaptureRecord::Kind::kEnd:
        inspector->End(record.connection, record.direction, record.time,
                       record.text);
        break;
    }
  }
  if ((*reader)->skipped_packets() > 0) {
    std::fprintf(stderr,
                 "sockrpc decode: skipped %llu packets that are not "
                 "IPv4/TCP\n",
                 static_cast<unsigned long long>((*reader)->skipped_packets()));
  }
  return 0;
}

}  // namespace

int RunDecode(int argc, char** argv) {
  absl::StatusOr<InspectFlags> flags = ParseInspectFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "sockrpc decode: %s\n\n%s",
                 std::string(flags.status().message()).c_str(), kDecodeUsage);
    return 2;
  }
  if (flags->help) {
    std::fputs(kDecodeUsage, stdout);
    std::fputs(InspectOptionsHelp(/*for_tap=*/false).c_str(), stdout);
    return 0;
  }
  const bool raw = !flags->raw_client.empty() || !flags->raw_server.empty();
  if (raw ? !flags->files.empty() : flags->files.size() != 1) {
    std::fprintf(stderr, "sockrpc decode: %s\n\n%s",
                 raw ? "give a capture or --raw-client/--raw-server, not both"
                     : "give one capture file",
                 kDecodeUsage);
    return 2;
  }
  google::protobuf::SetLogHandler(nullptr);

  std::unique_ptr<Schema> schema;
  if (!flags->proto_files.empty() || !flags->protoset.empty() ||
      !flags->reflect.empty()) {
    SchemaOptions options;
    options.proto_files = flags->proto_files;
    options.import_dirs = flags->import_dirs;
    options.protoset = flags->protoset;
    options.address = flags->reflect;
    absl::StatusOr<std::unique_ptr<Schema>> loaded = LoadSchema(options);
    if (!loaded.ok()) {
      std::fprintf(stderr, "sockrpc decode: %s\n",
                   loaded.status().ToString().c_str());
      return 1;
    }
    schema = *std::move(loaded);
  }

  DecodeOptions decode;
  decode.pool = schema != nullptr ? schema->pool() : nullptr;
  decode.max_shown_bytes = flags->max_bytes;
  PrintOptions print;
  print.json = flags->json;
  print.color = WantColor(*flags);
  Inspector inspector(decode, print, stdout, nullptr);

  if (!raw) return DecodeCapture(flags->files[0], &inspector);
  int status = 0;
  const std::string& first = !flags->raw_client.empty() ? flags->raw_client
                                                        : flags->raw_server;
  inspector.Open(1, FileTime(first), "raw bytes");
  if (!flags->raw_client.empty()) {
    status |= DecodeRawSide(flags->raw_client, Direction::kClientToServer,
                            &inspector);
  }
  if (!flags->raw_server.empty()) {
    status |= DecodeRawSide(flags->raw_server, Direction::kServerToClient,
                            &inspector);
  }
  return status;
}

}  // namespace cli
}  // namespace sockrpc
