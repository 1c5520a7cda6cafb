// Fuzz target: the connection preface, as the server handles it
// (transport/frame.h CheckPreface, FrameReader::TakePreface, and the GOAWAY
// that answers a bad one, whose message quotes the bytes received).
//
// Input: the first bytes a client sends.
//
// Checks: only the exact preface is accepted; a refusal's message is valid
// UTF-8 (it goes into a proto3 string field) and its GOAWAY encodes; the
// frames after a good preface decode without trouble.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sockrpc/wire.pb.h"
#include "tests/fuzz/fuzzing_asan_options.h"
#include "transport/frame.h"
#include "transport/frame_reader.h"
#include "transport/wire_codec.h"

namespace {

#define FUZZ_CHECK(condition)       \
  do {                              \
    if (!(condition)) std::abort(); \
  } while (0)

bool IsValidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // libFuzzer's first input: nothing to copy
  const char* bytes = reinterpret_cast<const char*>(data);
  sockrpc::FrameReader reader(sockrpc::kDefaultMaxFrameSize);
  absl::Span<char> space = reader.PrepareRead(size);
  std::memcpy(space.data(), bytes, size);
  reader.CommitRead(size);

  absl::string_view preface;
  if (!reader.TakePreface(&preface)) {
    FUZZ_CHECK(size < sockrpc::kPrefaceSize);
    return 0;
  }
  char expected[sockrpc::kPrefaceSize];
  sockrpc::EncodePreface(expected);
  absl::Status valid = sockrpc::CheckPreface(preface);
  FUZZ_CHECK(valid.ok() ==
             (std::memcmp(expected, bytes, sockrpc::kPrefaceSize) == 0));
  if (!valid.ok()) {
    const std::string message(valid.message());
    FUZZ_CHECK(IsValidUtf8(message));
    sockrpc::wire::GoAway goaway;
    goaway.set_code(static_cast<uint32_t>(valid.code()));
    goaway.set_message(message);
    std::string out;
    FUZZ_CHECK(sockrpc::AppendMessageFrame(&out, sockrpc::FrameType::kGoAway, 0,
                                           0, goaway,
                                           sockrpc::kDefaultMaxFrameSize)
                   .ok());
    return 0;
  }
  for (;;) {
    sockrpc::FrameReader::Frame frame;
    absl::Status error;
    if (reader.Next(&frame, &error) != sockrpc::FrameReader::Result::kFrame) {
      break;
    }
  }
  return 0;
}
