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
// Output is discarded; only crashes and sanitizer reports count. Nothing
// makes a system call: the capture is read from memory (fmemopen).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzzing_asan_options.h"
#include "tools/cli/connection_decoder.h"
#include "tools/cli/frame_printer.h"
#include "tools/cli/inspector.h"
#include "tools/cli/pcapng_reader.h"

namespace {

using ::sockrpc::cli::CaptureReader;
using ::sockrpc::cli::CaptureRecord;
using ::sockrpc::cli::Direction;

// A stream that takes every write and keeps nothing, with no system call
// (the printer flushes after each batch of lines: /dev/null cost a write
// each).
std::FILE* Discard() {
  static std::FILE* out = [] {
    cookie_io_functions_t functions{};
    functions.write = [](void*, const char*, size_t size) -> ssize_t {
      return static_cast<ssize_t>(size);
    };
    return fopencookie(nullptr, "w", functions);
  }();
  if (out == nullptr) std::abort();
  return out;
}

void DecodeCapture(std::string& bytes, sockrpc::cli::Inspector* inspector) {
  // The capture is read from memory, as from a file.
  std::FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) return;  // an empty input: nothing to read
  absl::StatusOr<std::unique_ptr<CaptureReader>> reader =
      CaptureReader::FromFile(file, "input");
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

// Protobuf logs every string field that is not UTF-8 as it refuses it;
// inputs are full of them (a 10 M-input run wrote 2 GB of such lines).
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  sockrpc::cli::DecodeOptions decode;
  // As `--max-bytes 65536`. The decoder reserves room for a frame as soon
  // as its header arrives; with the default limit (64 MiB) most of the
  // time went to zero-filling room for lengths the fuzzer made up, and
  // the oversized-frame path was seldom reached.
  decode.max_payload = 64 * 1024;
  sockrpc::cli::PrintOptions print;
  print.json = (data[0] & 2) != 0;
  sockrpc::cli::Inspector inspector(decode, print, Discard(), nullptr);
  const absl::Time time = absl::UnixEpoch();
  if ((data[0] & 1) == 0) {
    std::string capture(reinterpret_cast<const char*>(data + 1), size - 1);
    DecodeCapture(capture, &inspector);
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
