#include "tests/testing/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sockrpc {
namespace testing {
namespace {

absl::Status OpenSslError(absl::string_view what) {
  char text[256] = "unknown error";
  if (unsigned long error = ERR_get_error()) {
    ERR_error_string_n(error, text, sizeof(text));
  }
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", text));
}

EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

// Adds extension `nid` = `value` (OpenSSL's config syntax).
bool AddExtension(X509* certificate, X509* issuer, int nid,
                  const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool added = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

// A certificate for `key` named `common_name`, valid as `spec` says; not
// signed yet.
X509* NewCertificate(EVP_PKEY* key, const std::string& common_name,
                     absl::Duration not_before, absl::Duration not_after,
                     long serial) {
  X509* certificate = X509_new();
  if (certificate == nullptr) return nullptr;
  X509_set_version(certificate, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate),
                  absl::ToInt64Seconds(not_before));
  X509_gmtime_adj(X509_getm_notAfter(certificate),
                  absl::ToInt64Seconds(not_after));
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  return certificate;
}

absl::Status WritePem(const std::string& path, X509* certificate,
                      EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return absl::InternalError("cannot write " + path);
  const bool written = certificate != nullptr
                           ? PEM_write_X509(file, certificate) == 1
                           : PEM_write_PrivateKey(file, key, nullptr, nullptr,
                                                  0, nullptr, nullptr) == 1;
  std::fclose(file);
  if (!written) return OpenSslError("PEM_write " + path);
  return absl::OkStatus();
}

}  // namespace

struct TestPki::Keys {
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
  ~Keys() {
    X509_free(certificate);
    EVP_PKEY_free(key);
  }
};

TestPki::TestPki(std::string dir, std::unique_ptr<Keys> keys)
    : dir_(std::move(dir)), keys_(std::move(keys)) {}

TestPki::~TestPki() = default;

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create(std::string dir,
                                                         std::string name) {
  auto keys = std::make_unique<Keys>();
  keys->key = NewKey();
  if (keys->key == nullptr) return OpenSslError("EVP_EC_gen");
  keys->certificate = NewCertificate(keys->key, name, -absl::Hours(1),
                                     absl::Hours(48), /*serial=*/1);
  if (keys->certificate == nullptr) return OpenSslError("X509_new");
  X509_set_issuer_name(keys->certificate,
                       X509_get_subject_name(keys->certificate));
  if (!AddExtension(keys->certificate, keys->certificate, NID_basic_constraints,
                    "critical,CA:TRUE") ||
      !AddExtension(keys->certificate, keys->certificate, NID_key_usage,
                    "critical,keyCertSign,cRLSign") ||
      !AddExtension(keys->certificate, keys->certificate,
                    NID_subject_key_identifier, "hash")) {
    return OpenSslError("CA extensions");
  }
  if (X509_sign(keys->certificate, keys->key, EVP_sha256()) == 0) {
    return OpenSslError("X509_sign");
  }
  std::unique_ptr<TestPki> pki(new TestPki(dir, std::move(keys)));
  pki->ca_file_ = absl::StrCat(dir, "/", name, "-ca.pem");
  absl::Status written =
      WritePem(pki->ca_file_, pki->keys_->certificate, nullptr);
  if (!written.ok()) return written;
  return pki;
}

absl::StatusOr<IssuedCertificate> TestPki::Issue(const CertificateSpec& spec,
                                                 const std::string& stem) {
  Keys leaf;
  leaf.key = NewKey();
  if (leaf.key == nullptr) return OpenSslError("EVP_EC_gen");
  leaf.certificate = NewCertificate(leaf.key, spec.common_name, spec.not_before,
                                    spec.not_after, next_serial_++);
  if (leaf.certificate == nullptr) return OpenSslError("X509_new");
  X509_set_issuer_name(leaf.certificate,
                       X509_get_subject_name(keys_->certificate));
  if (!AddExtension(leaf.certificate, keys_->certificate, NID_basic_constraints,
                    "critical,CA:FALSE") ||
      !AddExtension(leaf.certificate, keys_->certificate,
                    NID_authority_key_identifier, "keyid") ||
      !AddExtension(leaf.certificate, keys_->certificate, NID_ext_key_usage,
                    "serverAuth,clientAuth")) {
    return OpenSslError("extensions");
  }
  if (!spec.alternative_names.empty() &&
      !AddExtension(leaf.certificate, keys_->certificate, NID_subject_alt_name,
                    absl::StrJoin(spec.alternative_names, ","))) {
    return OpenSslError("subjectAltName");
  }
  if (X509_sign(leaf.certificate, keys_->key, EVP_sha256()) == 0) {
    return OpenSslError("X509_sign");
  }
  IssuedCertificate issued;
  issued.certificate_file = absl::StrCat(dir_, "/", stem, ".pem");
  issued.private_key_file = absl::StrCat(dir_, "/", stem, ".key");
  absl::Status written =
      WritePem(issued.certificate_file, leaf.certificate, nullptr);
  if (written.ok())
    written = WritePem(issued.private_key_file, nullptr, leaf.key);
  if (!written.ok()) return written;
  return issued;
}

CertificateSpec LocalServerSpec() {
  CertificateSpec spec;
  spec.common_name = "localhost";
  spec.alternative_names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  return spec;
}

}  // namespace testing
}  // namespace sockrpc
