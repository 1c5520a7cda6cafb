// LoadOpenSsl(): OpenSSL found at run time (transport/openssl_library.h).
// Whether a program maps it only once it uses TLS is checked with the real
// programs (tests/hardening/tls_test.cc).
#include "transport/openssl_library.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

TEST(OpenSslLibraryTest, LoadsEveryFunctionOnceForTheProcess) {
  absl::StatusOr<const OpenSslLibrary*> first = LoadOpenSsl();
  ASSERT_TRUE(first.ok()) << first.status();
#define SOCKRPC_EXPECT_FOUND(name) EXPECT_NE((*first)->name, nullptr) << #name;
  SOCKRPC_OPENSSL_FUNCTIONS(SOCKRPC_EXPECT_FOUND)
#undef SOCKRPC_EXPECT_FOUND
  absl::StatusOr<const OpenSslLibrary*> second = LoadOpenSsl();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(&LoadedOpenSsl(), *first);
  // The functions are OpenSSL's: a context can be made and freed.
  SSL_CTX* ctx = (*first)->SSL_CTX_new((*first)->TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  (*first)->SSL_CTX_free(ctx);
}

TEST(OpenSslLibraryTest, AMissingLibraryIsUnavailableWithTheLoadersReason) {
  absl::StatusOr<std::unique_ptr<const OpenSslLibrary>> loaded =
      LoadOpenSslFrom("libsockrpc-no-such-ssl.so.3");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("TLS needs OpenSSL 3 (libsockrpc-no-such-ssl.so.3): "));
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("cannot open shared object file"));
}

TEST(OpenSslLibraryTest, ALibraryWithoutOpenSslsFunctionsNamesThoseItLacks) {
  // zlib: a library every program here has loaded (protobuf links it).
  absl::StatusOr<std::unique_ptr<const OpenSslLibrary>> loaded =
      LoadOpenSslFrom("libz.so.1");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(loaded.status().message(), HasSubstr("it lacks"));
  EXPECT_THAT(loaded.status().message(), HasSubstr(" SSL_new "));
  EXPECT_THAT(loaded.status().message(), HasSubstr(" X509_get_subject_name"));
}

}  // namespace
}  // namespace sockrpc
