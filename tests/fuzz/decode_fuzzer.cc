// Fuzz target: the parser behind `sockrpc decode` (tools/cli/): the pcapng
// capture reader and the connection decoder and printer that turn a
// capture's bytes into frame lines, with no schema (messages as raw
// protobuf fields).
//
// Input: byte 0 picks the mode and output --
//   bit 0 clear: the rest is a capture file (pcapng), read with
//                CaptureReader as `sockrpc decode FILE` does;
//   bit 0 set:   byte 1 splits the rest into the client's and the server's
//                bytes of one connection (`--raw-client/--raw-server`);
//   bit 1:       JSON output instead of text.
// Output goes to /dev/null; only crashes and sanitizer reports count.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/cli/connection_decoder.h"
#include "tools/cli/frame_printer.h"
#include "tools/cli/inspector.h"
#include "tools/cli/pcapng_reader.h"

namespace {

using ::sockrpc::cli::CaptureReader;
using ::sockrpc::cli::CaptureRecord;
using ::sockrpc::cli::Direction;

std::FILE* DevNull() {
  static std::FILE* out = std::fopen("/dev/null", "w");
  if (out == nullptr) std::abort();
  return out;
}

void DecodeCapture(const std::string& bytes, sockrpc::cli::Inspector* inspector) {
  // CaptureReader reads files: the input goes through a scratch file.
  static const std::string path =
      absl::StrCat("/tmp/sockrpc-decode-fuzz-", getpid(), ".pcapng");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  std::fwrite(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
  absl::StatusOr<std::unique_ptr<CaptureReader>> reader =
      CaptureReader::Open(path);
  if (!reader.ok()) return;
  CaptureRecord record;
  for (;;) {
    absl::StatusOr<bool> more = (*reader)->Next(&record);
    if (!more.ok() || !*more) break;
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
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  sockrpc::cli::DecodeOptions decode;
  sockrpc::cli::PrintOptions print;
  print.json = (data[0] & 2) != 0;
  sockrpc::cli::Inspector inspector(decode, print, DevNull(), nullptr);
  const absl::Time time = absl::UnixEpoch();
  if ((data[0] & 1) == 0) {
    DecodeCapture(std::string(reinterpret_cast<const char*>(data + 1),
                              size - 1),
                  &inspector);
    return 0;
  }
  const std::string rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t split = rest.size() * data[1] / 256;
  inspector.Open(1, time, "fuzz");
  inspector.Data(1, Direction::kClientToServer, time, rest.substr(0, split));
  inspector.Data(1, Direction::kServerToClient, time, rest.substr(split));
  inspector.End(1, Direction::kClientToServer, time, "");
  inspector.End(1, Direction::kServerToClient, time, "");
  return 0;
}
