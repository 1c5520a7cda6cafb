// Utf8(): the UTF-8 encoding of a code point, for tests and test programs
// that send Increment characters beyond ASCII. Test-only.
#ifndef SOCKRPC_TESTS_TESTING_UTF8_H_
#define SOCKRPC_TESTS_TESTING_UTF8_H_

#include <cstdint>
#include <string>

namespace sockrpc {
namespace testing {

// UTF-8 encoding of code point `c` (c < 0x10000, not a surrogate).
inline std::string Utf8(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
  return out;
}

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_UTF8_H_
