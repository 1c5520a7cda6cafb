// Fuzz target: the frame decoder (transport/frame.h, frame_reader.h) and
// the payload decoders the runtimes apply to what it cuts out.
//
// Input: byte 0 picks how the bytes arrive (1 to 64 bytes per read, as a
// socket might split them), byte 1 the frame-size limit (64 bytes, 64 KiB or
// the default 4 MiB), the rest is the byte stream after the preface.
//
// Checks, beyond "no crash, no sanitizer report": a frame never exceeds
// the limit, a header that decodes re-encodes to the same 12 bytes, and
// the reader never buffers more than one frame plus one read.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "sockrpc/wire.pb.h"
#include "tests/fuzz/fuzzing_asan_options.h"
#include "transport/frame.h"
#include "transport/frame_reader.h"
#include "transport/metadata.h"
#include "transport/wire_codec.h"

namespace {

#define FUZZ_CHECK(condition)       \
  do {                              \
    if (!(condition)) std::abort(); \
  } while (0)

// Decodes `frame`'s payload the way the client or the server would.
void DecodePayload(const sockrpc::FrameReader::Frame& frame) {
  using sockrpc::FrameType;
  const std::string payload(frame.payload);
  switch (static_cast<FrameType>(frame.header.type)) {
    case FrameType::kHeaders: {
      sockrpc::wire::CallHeader header;
      if (header.ParseFromString(payload)) {
        (void)sockrpc::ValidateMetadata(
            sockrpc::MetadataFromWire(header.metadata()),
            sockrpc::kDefaultMaxMetadataSize);
      }
      sockrpc::wire::ResponseHeader response;
      (void)response.ParseFromString(payload);
      break;
    }
    case FrameType::kStatus: {
      sockrpc::wire::CallStatus status;
      if (status.ParseFromString(payload)) {
        (void)sockrpc::StatusFromWire(status.code(), status.message());
        (void)sockrpc::MetadataFromWire(status.metadata());
      }
      break;
    }
    case FrameType::kGoAway: {
      sockrpc::wire::GoAway goaway;
      if (goaway.ParseFromString(payload)) {
        (void)sockrpc::StatusFromWire(goaway.code(), goaway.message());
      }
      break;
    }
    case FrameType::kWindowUpdate: {
      uint32_t increment = 0;
      bool ok = sockrpc::DecodeWindowUpdate(frame.payload, &increment);
      FUZZ_CHECK(ok == (frame.payload.size() == sockrpc::kWindowUpdateSize));
      break;
    }
    default:
      break;
  }
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 as it refuses it;
// inputs are full of them.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t step = data[0] % 64 + 1;
  // Odd: 64 bytes; else 64 KiB or the default (4 MiB). The reader makes
  // room for a whole frame once its header is in, so inputs under the
  // default limit that announce megabytes cost the fuzzer a zero-filled
  // buffer each: a quarter of the inputs, not a half.
  const uint32_t limit = (data[1] & 1)   ? 64
                         : (data[1] & 2) ? sockrpc::kDefaultMaxFrameSize
                                         : 64 * 1024;
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  size_t left = size - 2;

  if (left >= sockrpc::kFrameHeaderSize) {
    absl::StatusOr<sockrpc::FrameHeader> header =
        sockrpc::DecodeFrameHeader(bytes);
    if (header.ok()) {
      char again[sockrpc::kFrameHeaderSize];
      sockrpc::EncodeFrameHeader(*header, again);
      FUZZ_CHECK(std::memcmp(again, bytes, sizeof(again)) == 0);
      (void)sockrpc::FrameTypeName(header->type);
    }
  }

  sockrpc::FrameReader reader(limit);
  bool malformed = false;
  while (left > 0 && !malformed) {
    absl::Span<char> space = reader.PrepareRead(step);
    const size_t n = std::min({step, left, space.size()});
    std::memcpy(space.data(), bytes, n);
    reader.CommitRead(n);
    bytes += n;
    left -= n;
    FUZZ_CHECK(reader.buffered() <=
               sockrpc::kFrameHeaderSize + size_t{limit} + 16 * 1024 + step);
    for (;;) {
      sockrpc::FrameReader::Frame frame;
      absl::Status error;
      sockrpc::FrameReader::Result result = reader.Next(&frame, &error);
      if (result == sockrpc::FrameReader::Result::kNeedMore) break;
      if (result == sockrpc::FrameReader::Result::kMalformed) {
        FUZZ_CHECK(!error.ok());
        malformed = true;  // a connection error: the stream ends here
        break;
      }
      if (result == sockrpc::FrameReader::Result::kOversized) {
        FUZZ_CHECK(frame.header.length > limit);
        continue;
      }
      FUZZ_CHECK(frame.header.length <= limit);
      FUZZ_CHECK(frame.payload.size() == frame.header.length);
      DecodePayload(frame);
    }
  }
  reader.EndReads();
  return 0;
}
