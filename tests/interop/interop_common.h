// What the interop server and the interop cases agree on: the byte pattern
// that fills request and reply bodies, the fingerprint that lets the server
// report what it received, and the metadata keys it echoes. Both sides
// compute the pattern from (size, seed), so a receiver can check every byte
// without the sender shipping an expected copy. Test-only.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_COMMON_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sockrpc {
namespace interop {

// Request metadata keys the server echoes: the first back as initial
// metadata, the second as trailing metadata, each under the same key.
inline constexpr char kEchoInitialKey[] = "x-sockrpc-test-echo-initial";
inline constexpr char kEchoTrailingKey[] = "x-sockrpc-test-echo-trailing-bin";

// PatternByte is byte `i` of the pattern seeded with `seed`. The high bits
// of `i` take part, so 256-byte blocks that were swapped or repeated show.
inline char PatternByte(size_t i, uint32_t seed) {
  return static_cast<char>((i * 131 + (i >> 8) * 7 + seed * 61 + 17) & 0xff);
}

// Pattern returns `size` bytes of the pattern seeded with `seed`.
inline std::string Pattern(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = PatternByte(i, seed);
  return bytes;
}

// CheckPattern returns OK if `bytes` is exactly Pattern(size, seed), and
// otherwise says where it differs; `what` names the bytes in the message.
inline absl::Status CheckPattern(absl::string_view what,
                                 absl::string_view bytes, size_t size,
                                 uint32_t seed) {
  if (bytes.size() != size) {
    return absl::DataLossError(
        absl::StrCat(what, ": expected ", size, " bytes, got ", bytes.size()));
  }
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] != PatternByte(i, seed)) {
      return absl::DataLossError(absl::StrCat(
          what, ": byte ", i, " of ", size, " is ",
          static_cast<int>(static_cast<unsigned char>(bytes[i])), ", expected ",
          static_cast<int>(static_cast<unsigned char>(PatternByte(i, seed)))));
    }
  }
  return absl::OkStatus();
}

// Fingerprint is the 64-bit FNV-1a hash of `bytes`.
inline uint64_t Fingerprint(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_COMMON_H_
