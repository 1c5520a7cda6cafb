// TlsContext: one side's TLS configuration made into OpenSSL's SSL_CTX
// (certificates and keys loaded, trust roots, protocol versions, ALPN
// "sockrpc/1", the client allow-list); ReloadingTlsContext: one made again
// when its files change.
//
// Making the first context loads OpenSSL (transport/openssl_library.h):
// where it cannot be, ForServer() and ForClient() say so (UNAVAILABLE).
//
// A context is immutable once made and shared (std::shared_ptr) by every
// session made from it; a session keeps its context alive (OpenSSL counts
// references to the SSL_CTX as well), so a reload never disturbs an open
// connection. Thread-safe.
#ifndef SOCKRPC_TRANSPORT_TLS_CONTEXT_H_
#define SOCKRPC_TRANSPORT_TLS_CONTEXT_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/sync.h"
#include "transport/tls_options.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

namespace sockrpc {

struct OpenSslLibrary;  // transport/openssl_library.h

// The ALPN protocol id of sockrpc over TLS (docs/PROTOCOL.md).
inline constexpr char kTlsAlpnId[] = "sockrpc/1";

class TlsContext {
 public:
  // A server's context: its certificate and key, and the roots and rules
  // for client certificates. Errors name the file and OpenSSL's reason
  // (INVALID_ARGUMENT).
  static absl::StatusOr<std::shared_ptr<const TlsContext>> ForServer(
      const TlsServerOptions& options);
  // A client's context: trust roots, an optional client certificate.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> ForClient(
      const TlsChannelOptions& options);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // OpenSSL's functions, for the sessions made from this context.
  const OpenSslLibrary& openssl() const { return openssl_; }
  bool is_server() const { return is_server_; }
  // Client: whether the server's certificate is checked at all.
  bool verifies_peer() const { return verifies_peer_; }
  // Server: whether `peer` may connect (TlsServerOptions::allowed_peers).
  bool Admits(const TlsPeer& peer) const;

 private:
  TlsContext(const OpenSslLibrary& openssl, SSL_CTX* ctx, bool is_server);

  const OpenSslLibrary& openssl_;
  SSL_CTX* const ctx_;
  const bool is_server_;
  bool verifies_peer_ = true;
  std::vector<std::string> allowed_peers_;
};

// What a certificate says of its holder (no version or cipher: those are
// the session's). OpenSSL is loaded (a certificate exists).
TlsPeer DescribeCertificate(X509* certificate);
// The names a peer goes by, for messages: "spiffe://a/b, host.example".
std::string TlsIdentityText(const TlsPeer& peer);
// (A server session may set its SSL's app data to a std::string: a client
// refused by the allow-list has its TlsIdentityText() written there.)

// The text of OpenSSL's queued errors (and clears them), "" if none (or
// if OpenSSL cannot be loaded). It loads OpenSSL if no context did yet:
// for TLS code only, where a context exists.
std::string TakeOpenSslErrors();

// A side's context, made again from its files when they change: looked at
// (stat) no more than once per `look_interval`, when a connection is made.
// A change that does not load keeps the last good context, and says why.
// The server renews its certificate this way, and so does a client with a
// certificate of its own (short-lived ones, such as SPIFFE's, are renewed
// every hour or so).
class ReloadingTlsContext {
 public:
  static absl::StatusOr<std::unique_ptr<ReloadingTlsContext>> ForServer(
      TlsServerOptions options,
      absl::Duration look_interval = absl::Seconds(1));
  static absl::StatusOr<std::unique_ptr<ReloadingTlsContext>> ForClient(
      TlsChannelOptions options,
      absl::Duration look_interval = absl::Seconds(1));

  // The context for a connection made at `now`. `*reload_error` is set
  // when a change was found that did not load (once per change).
  std::shared_ptr<const TlsContext> Current(absl::Time now,
                                            std::string* reload_error);

 private:
  using Make =
      std::function<absl::StatusOr<std::shared_ptr<const TlsContext>>()>;
  // What stat() says of one file, to notice a change (a rename over it, as
  // certificate tools do, changes the inode).
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    int64_t modified_nanos = 0;
    off_t size = 0;
    bool operator==(const Stamp& other) const {
      return device == other.device && inode == other.inode &&
             modified_nanos == other.modified_nanos && size == other.size;
    }
  };
  ReloadingTlsContext(Make make, std::vector<std::string> files,
                      absl::Duration look_interval)
      : make_(std::move(make)),
        files_(std::move(files)),
        look_interval_(look_interval) {}
  static absl::StatusOr<std::unique_ptr<ReloadingTlsContext>> Create(
      Make make, std::vector<std::string> files, absl::Duration look_interval);
  std::vector<Stamp> StampFiles() const;

  const Make make_;
  const std::vector<std::string> files_;  // "" for a file not given
  const absl::Duration look_interval_;
  Mutex mu_;
  std::shared_ptr<const TlsContext> current_ ABSL_GUARDED_BY(mu_);
  std::vector<Stamp> stamps_ ABSL_GUARDED_BY(mu_);
  absl::Time next_look_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_TLS_CONTEXT_H_
