// SOCKRPC_THREAD_SANITIZER: defined when this translation unit is built
// with ThreadSanitizer (GCC's __SANITIZE_THREAD__ or Clang's feature
// test), for the few places that must show TSan what it cannot see.
#ifndef SOCKRPC_TRANSPORT_THREAD_SANITIZER_H_
#define SOCKRPC_TRANSPORT_THREAD_SANITIZER_H_

#if defined(__SANITIZE_THREAD__)
#define SOCKRPC_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SOCKRPC_THREAD_SANITIZER 1
#endif
#endif

#endif  // SOCKRPC_TRANSPORT_THREAD_SANITIZER_H_
