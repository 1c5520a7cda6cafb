// kUnderSanitizer: true in a build with AddressSanitizer or
// ThreadSanitizer. Their shadow memory, quarantine of freed blocks and
// slow-down make resident-memory bounds and generous timing bounds
// meaningless, so tests skip exactly those checks there (and only those).
// Test-only.
#ifndef SOCKRPC_TESTS_TESTING_SANITIZERS_H_
#define SOCKRPC_TESTS_TESTING_SANITIZERS_H_

namespace sockrpc {
namespace testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_SANITIZERS_H_
