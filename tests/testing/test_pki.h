// TestPki: a certificate authority made for one test, in a directory of
// its own, and the certificates it issues (PEM files), for the TLS tests:
// servers named "localhost" / 127.0.0.1, clients with SPIFFE IDs, expired
// ones, and a second authority nobody trusts. Keys are P-256 (fast to
// make). Test-only; nothing here is part of sockrpc.
#ifndef SOCKRPC_TESTS_TESTING_TEST_PKI_H_
#define SOCKRPC_TESTS_TESTING_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sockrpc {
namespace testing {

// A certificate and its key, as files.
struct IssuedCertificate {
  std::string certificate_file;
  std::string private_key_file;
};

// What to put in a certificate.
struct CertificateSpec {
  std::string common_name;
  // Subject alternative names, OpenSSL's config form: "DNS:localhost",
  // "IP:127.0.0.1", "URI:spiffe://example.org/ns/x/sa/y".
  std::vector<std::string> alternative_names;
  // Valid from now + not_before to now + not_after (both may be negative:
  // an expired certificate).
  absl::Duration not_before = -absl::Hours(1);
  absl::Duration not_after = absl::Hours(24);
};

class TestPki {
 public:
  // A new authority named `name`, its files in `dir` (which must exist).
  static absl::StatusOr<std::unique_ptr<TestPki>> Create(std::string dir,
                                                         std::string name);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // The authority's certificate (the trust root to hand out).
  const std::string& ca_file() const { return ca_file_; }

  // Issues a certificate to `spec`, written as `<stem>.pem` and
  // `<stem>.key` in the directory.
  absl::StatusOr<IssuedCertificate> Issue(const CertificateSpec& spec,
                                          const std::string& stem);

 private:
  struct Keys;
  TestPki(std::string dir, std::unique_ptr<Keys> keys);

  const std::string dir_;
  std::unique_ptr<Keys> keys_;
  std::string ca_file_;
  long next_serial_ = 2;
};

// The usual server certificate: "localhost", 127.0.0.1 and ::1.
CertificateSpec LocalServerSpec();

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_TEST_PKI_H_
