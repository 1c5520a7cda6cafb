// OpenSslLibrary: the functions of OpenSSL 3 that TLS uses (transport/
// tls_context.cc, tls_session.cc), found with dlopen() and dlsym() when the
// first TLS context is made, not when a program starts.
//
// Why: a program that never uses TLS (every unix-socket program, and most
// TCP ones) then never maps libssl and libcrypto: 5.4 MB of libraries
// fewer for a client, and none of their relocations and initializers in
// every process's start-up and resident memory. The package still depends
// on libssl3; a program that asks for TLS where it cannot be loaded gets
// UNAVAILABLE with the loader's reason, from the call that made the
// context (Server::Start(), Channel creation), not a failed start.
//
// Calls go through the table: `openssl.SSL_new(ctx)`. OpenSSL's function-
// like macros (SSL_CTX_set_mode(), BIO_set_retry_read(), OPENSSL_free(),
// sk_GENERAL_NAME_num(), ...) cannot: their call sites call the function
// each macro wraps (SSL_CTX_ctrl(), BIO_set_flags(), CRYPTO_free(),
// OPENSSL_sk_num(), ...), with the macro's name in a comment. Types and
// constants still come from OpenSSL's headers (libssl-dev at build time).
//
// Lifetime and threads: LoadOpenSsl() loads once per process (thread-safe)
// and the table never changes after; the libraries stay mapped until the
// process exits (RTLD_NODELETE), as they would if linked.
#ifndef SOCKRPC_TRANSPORT_OPENSSL_LIBRARY_H_
#define SOCKRPC_TRANSPORT_OPENSSL_LIBRARY_H_

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/status/statusor.h"

static_assert(OPENSSL_VERSION_MAJOR == 3,
              "the TLS code loads OpenSSL 3's libssl.so.3");

namespace sockrpc {

// Every OpenSSL function the TLS code calls, in alphabetical order.
#define SOCKRPC_OPENSSL_FUNCTIONS(X)    \
  X(ASN1_STRING_get0_data)              \
  X(ASN1_STRING_length)                 \
  X(ASN1_STRING_to_UTF8)                \
  X(BIO_clear_flags)                    \
  X(BIO_ctrl)                           \
  X(BIO_free)                           \
  X(BIO_get_data)                       \
  X(BIO_get_new_index)                  \
  X(BIO_meth_new)                       \
  X(BIO_meth_set_ctrl)                  \
  X(BIO_meth_set_read)                  \
  X(BIO_meth_set_write)                 \
  X(BIO_new)                            \
  X(BIO_s_mem)                          \
  X(BIO_set_data)                       \
  X(BIO_set_flags)                      \
  X(BIO_set_init)                       \
  X(BIO_test_flags)                     \
  X(CRYPTO_free)                        \
  X(ERR_clear_error)                    \
  X(ERR_error_string_n)                 \
  X(ERR_get_error)                      \
  X(GENERAL_NAMES_free)                 \
  X(OPENSSL_sk_num)                     \
  X(OPENSSL_sk_value)                   \
  X(SSL_CIPHER_get_name)                \
  X(SSL_CTX_check_private_key)          \
  X(SSL_CTX_ctrl)                       \
  X(SSL_CTX_free)                       \
  X(SSL_CTX_get_ex_data)                \
  X(SSL_CTX_load_verify_locations)      \
  X(SSL_CTX_new)                        \
  X(SSL_CTX_set_alpn_protos)            \
  X(SSL_CTX_set_alpn_select_cb)         \
  X(SSL_CTX_set_client_CA_list)         \
  X(SSL_CTX_set_default_verify_paths)   \
  X(SSL_CTX_set_ex_data)                \
  X(SSL_CTX_set_num_tickets)            \
  X(SSL_CTX_set_options)                \
  X(SSL_CTX_set_verify)                 \
  X(SSL_CTX_use_PrivateKey_file)        \
  X(SSL_CTX_use_certificate_chain_file) \
  X(SSL_ctrl)                           \
  X(SSL_do_handshake)                   \
  X(SSL_free)                           \
  X(SSL_get0_alpn_selected)             \
  X(SSL_get0_param)                     \
  X(SSL_get0_peer_certificate)          \
  X(SSL_get_SSL_CTX)                    \
  X(SSL_get_current_cipher)             \
  X(SSL_get_error)                      \
  X(SSL_get_ex_data)                    \
  X(SSL_get_ex_data_X509_STORE_CTX_idx) \
  X(SSL_get_verify_result)              \
  X(SSL_get_version)                    \
  X(SSL_has_pending)                    \
  X(SSL_load_client_CA_file)            \
  X(SSL_new)                            \
  X(SSL_peek_ex)                        \
  X(SSL_pending)                        \
  X(SSL_read_ex)                        \
  X(SSL_select_next_proto)              \
  X(SSL_set1_host)                      \
  X(SSL_set_accept_state)               \
  X(SSL_set_bio)                        \
  X(SSL_set_connect_state)              \
  X(SSL_set_ex_data)                    \
  X(SSL_write_ex)                       \
  X(TLS_client_method)                  \
  X(TLS_server_method)                  \
  X(X509_NAME_ENTRY_get_data)           \
  X(X509_NAME_get_entry)                \
  X(X509_NAME_get_index_by_NID)         \
  X(X509_NAME_print_ex)                 \
  X(X509_STORE_CTX_get_current_cert)    \
  X(X509_STORE_CTX_get_error_depth)     \
  X(X509_STORE_CTX_get_ex_data)         \
  X(X509_STORE_CTX_set_error)           \
  X(X509_VERIFY_PARAM_set1_ip_asc)      \
  X(X509_get_ext_d2i)                   \
  X(X509_get_subject_name)              \
  X(X509_verify_cert_error_string)

struct OpenSslLibrary {
#define SOCKRPC_OPENSSL_POINTER(name) decltype(&::name) name = nullptr;
  SOCKRPC_OPENSSL_FUNCTIONS(SOCKRPC_OPENSSL_POINTER)
#undef SOCKRPC_OPENSSL_POINTER
};

// The process's OpenSSL, loaded by the first call. UNAVAILABLE ("TLS needs
// OpenSSL 3 (libssl.so.3): <the loader's reason>") if it cannot be loaded
// or lacks a function; every later call returns the same.
absl::StatusOr<const OpenSslLibrary*> LoadOpenSsl();

// The table once LoadOpenSsl() has succeeded: for code that only runs on
// OpenSSL's objects (which exist only once it was loaded), such as its
// callbacks.
const OpenSslLibrary& LoadedOpenSsl();

// Loads the table from the library `file_name` (searched for as dlopen()
// does) and what it links: LoadOpenSsl()'s work, for tests of its failures.
absl::StatusOr<std::unique_ptr<const OpenSslLibrary>> LoadOpenSslFrom(
    const char* file_name);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_OPENSSL_LIBRARY_H_
