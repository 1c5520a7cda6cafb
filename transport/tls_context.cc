#include "transport/tls_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "transport/openssl_library.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace {

// ALPN's wire form of our one protocol: a length byte, then the id.
constexpr unsigned char kAlpnWire[] = "\x09sockrpc/1";
constexpr unsigned int kAlpnWireSize = sizeof(kAlpnWire) - 1;

int VersionOf(TlsVersion version) {
  return version == TlsVersion::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
}

absl::Status FileError(absl::string_view what, const std::string& file) {
  std::string reason = TakeOpenSslErrors();
  return absl::InvalidArgumentError(
      absl::StrCat("TLS: cannot load the ", what, " from \"", file, "\"",
                   reason.empty() ? "" : ": ", reason));
}

// The settings both sides share.
SSL_CTX* NewContext(const OpenSslLibrary& openssl, bool is_server,
                    TlsVersion min_version) {
  SSL_CTX* ctx = openssl.SSL_CTX_new(is_server ? openssl.TLS_server_method()
                                               : openssl.TLS_client_method());
  if (ctx == nullptr) return nullptr;
  // SSL_CTX_set_min_proto_version()
  openssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION,
                       VersionOf(min_version), nullptr);
  // Writes that the socket takes in part report what went (the runtimes
  // keep the rest and write it again from wherever it then lies). The
  // buffers stay with the connection (releasing them when empty would
  // allocate them again for every message).
  openssl.SSL_CTX_ctrl(  // SSL_CTX_set_mode()
      ctx, SSL_CTRL_MODE,
      SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
      nullptr);
  // One recv() takes as many records as are there, not a header and then
  // its body (TlsSession::HasBufferedInput() accounts for what it keeps).
  openssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1,  // ..._set_read_ahead()
                       nullptr);
  // Peers close the socket without close_notify: the frames are counted,
  // so a cut stream is found by the framing, and the close is ordinary.
  openssl.SSL_CTX_set_options(
      ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

// Server: picks "sockrpc/1" from the client's list; a client that offers
// other protocols only (an HTTP/2 client, say) is refused with an alert; a
// client that offers none is served (a TLS terminator in TCP mode may not
// pass ALPN on).
int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  unsigned char* selected = nullptr;
  if (LoadedOpenSsl().SSL_select_next_proto(&selected, outlen, kAlpnWire,
                                            kAlpnWireSize, in,
                                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Server: the allow-list, checked on the client's own certificate once the
// chain verified.
int VerifyClient(int preverified, X509_STORE_CTX* store) {
  const OpenSslLibrary& openssl = LoadedOpenSsl();
  if (preverified != 1 || openssl.X509_STORE_CTX_get_error_depth(store) != 0) {
    return preverified;
  }
  SSL* ssl = static_cast<SSL*>(openssl.X509_STORE_CTX_get_ex_data(
      store, openssl.SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* context = static_cast<const TlsContext*>(  // ..._get_app_data()
      openssl.SSL_CTX_get_ex_data(openssl.SSL_get_SSL_CTX(ssl), 0));
  if (context == nullptr) return 1;
  const TlsPeer peer =
      DescribeCertificate(openssl.X509_STORE_CTX_get_current_cert(store));
  if (context->Admits(peer)) return 1;
  // For the log: who was refused (see TlsRefusalNoteOf()).
  if (auto* note = static_cast<std::string*>(  // SSL_get_app_data()
          openssl.SSL_get_ex_data(ssl, 0))) {
    *note = TlsIdentityText(peer);
  }
  openssl.X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

std::string NameText(const OpenSslLibrary& openssl, X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = openssl.BIO_new(openssl.BIO_s_mem());
  if (bio == nullptr) return "";
  openssl.X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size =  // BIO_get_mem_data()
      openssl.BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  std::string text(data, static_cast<size_t>(std::max(size, 0L)));
  openssl.BIO_free(bio);
  return text;
}

std::string CommonName(const OpenSslLibrary& openssl, X509_NAME* name) {
  const int index =
      openssl.X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* data = openssl.X509_NAME_ENTRY_get_data(
      openssl.X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = openssl.ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(size));
  openssl.CRYPTO_free(utf8, OPENSSL_FILE, OPENSSL_LINE);  // OPENSSL_free()
  return text;
}

}  // namespace

std::string TakeOpenSslErrors() {
  absl::StatusOr<const OpenSslLibrary*> openssl = LoadOpenSsl();
  if (!openssl.ok()) return "";
  std::string text;
  while (unsigned long error = (*openssl)->ERR_get_error()) {
    char line[256];
    (*openssl)->ERR_error_string_n(error, line, sizeof(line));
    // "error:0A000086:SSL routines::certificate verify failed": keep the
    // reason, the part people read.
    absl::string_view reason = line;
    const size_t colon = reason.rfind(':');
    if (colon != absl::string_view::npos) reason.remove_prefix(colon + 1);
    if (!text.empty()) text += "; ";
    absl::StrAppend(&text, reason);
  }
  return text;
}

std::string TlsIdentityText(const TlsPeer& peer) {
  std::vector<std::string> names = peer.uris;
  names.insert(names.end(), peer.dns_names.begin(), peer.dns_names.end());
  if (names.empty() && !peer.common_name.empty()) {
    names.push_back("CN=" + peer.common_name);
  }
  return names.empty() ? std::string("a certificate without names")
                       : absl::StrJoin(names, ", ");
}

TlsPeer DescribeCertificate(X509* certificate) {
  TlsPeer peer;
  if (certificate == nullptr) return peer;
  peer.has_certificate = true;
  const OpenSslLibrary& openssl = LoadedOpenSsl();
  X509_NAME* subject = openssl.X509_get_subject_name(certificate);
  peer.subject = NameText(openssl, subject);
  peer.common_name = CommonName(openssl, subject);
  auto* names = static_cast<GENERAL_NAMES*>(openssl.X509_get_ext_d2i(
      certificate, NID_subject_alt_name, nullptr, nullptr));
  // sk_GENERAL_NAME_num(), sk_GENERAL_NAME_value()
  const int count = names == nullptr
                        ? 0
                        : openssl.OPENSSL_sk_num(
                              ossl_check_const_GENERAL_NAME_sk_type(names));
  for (int i = 0; i < count; ++i) {
    const auto* name =
        static_cast<const GENERAL_NAME*>(openssl.OPENSSL_sk_value(
            ossl_check_const_GENERAL_NAME_sk_type(names), i));
    if (name->type != GEN_DNS && name->type != GEN_URI) continue;
    const ASN1_IA5STRING* text = name->d.ia5;
    std::string value(
        reinterpret_cast<const char*>(openssl.ASN1_STRING_get0_data(text)),
        static_cast<size_t>(openssl.ASN1_STRING_length(text)));
    if (name->type == GEN_DNS) {
      peer.dns_names.push_back(std::move(value));
    } else {
      if (peer.spiffe_id.empty() && absl::StartsWith(value, "spiffe://")) {
        peer.spiffe_id = value;
      }
      peer.uris.push_back(std::move(value));
    }
  }
  openssl.GENERAL_NAMES_free(names);
  return peer;
}

TlsContext::TlsContext(const OpenSslLibrary& openssl, SSL_CTX* ctx,
                       bool is_server)
    : openssl_(openssl), ctx_(ctx), is_server_(is_server) {
  openssl_.SSL_CTX_set_ex_data(ctx_, 0, this);  // SSL_CTX_set_app_data()
}

TlsContext::~TlsContext() {
  // Sessions still open hold their own references: the SSL_CTX lives on
  // without us, and the verify callback then admits (it found no context).
  openssl_.SSL_CTX_set_ex_data(ctx_, 0, nullptr);
  openssl_.SSL_CTX_free(ctx_);
}

bool TlsContext::Admits(const TlsPeer& peer) const {
  if (allowed_peers_.empty()) return true;
  auto listed = [this](const std::string& id) {
    return std::find(allowed_peers_.begin(), allowed_peers_.end(), id) !=
           allowed_peers_.end();
  };
  for (const std::string& uri : peer.uris) {
    if (listed(uri)) return true;
  }
  for (const std::string& name : peer.dns_names) {
    if (listed(name)) return true;
  }
  // The common name only stands for a certificate without such names.
  return peer.uris.empty() && peer.dns_names.empty() &&
         !peer.common_name.empty() && listed(peer.common_name);
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::ForServer(
    const TlsServerOptions& options) {
  if (options.certificate_file.empty() || options.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS: a server needs certificate_file and private_key_file");
  }
  if (!options.allowed_peers.empty() && options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS: allowed_peers needs client_ca_file (client certificates)");
  }
  SOCKRPC_ASSIGN_OR_RETURN(const OpenSslLibrary* library, LoadOpenSsl());
  const OpenSslLibrary& openssl = *library;
  SSL_CTX* ctx = NewContext(openssl, /*is_server=*/true, options.min_version);
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("TLS: SSL_CTX_new: ", TakeOpenSslErrors()));
  }
  // Owned from here on, so every early return frees it.
  std::shared_ptr<TlsContext> context(
      new TlsContext(openssl, ctx, /*is_server=*/true));
  context->allowed_peers_ = options.allowed_peers;
  if (openssl.SSL_CTX_use_certificate_chain_file(
          ctx, options.certificate_file.c_str()) != 1) {
    return FileError("certificate chain", options.certificate_file);
  }
  if (openssl.SSL_CTX_use_PrivateKey_file(ctx, options.private_key_file.c_str(),
                                          SSL_FILETYPE_PEM) != 1) {
    return FileError("private key", options.private_key_file);
  }
  if (openssl.SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS: the private key in \"", options.private_key_file,
                     "\" does not match the certificate in \"",
                     options.certificate_file, "\""));
  }
  if (!options.client_ca_file.empty()) {
    if (openssl.SSL_CTX_load_verify_locations(
            ctx, options.client_ca_file.c_str(), nullptr) != 1) {
      return FileError("client trust roots", options.client_ca_file);
    }
    STACK_OF(X509_NAME)* names =
        openssl.SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names != nullptr) openssl.SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    // An allow-list admits certificates only: it asks for one.
    if (options.require_client_certificate || !options.allowed_peers.empty()) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    openssl.SSL_CTX_set_verify(ctx, mode, VerifyClient);
  } else {
    openssl.SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  // No resumption: no tickets to write after the handshake, and no cache.
  openssl.SSL_CTX_set_num_tickets(ctx, 0);
  openssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE,  // ..._cache_mode()
                       SSL_SESS_CACHE_OFF, nullptr);
  openssl.SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  return std::shared_ptr<const TlsContext>(std::move(context));
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::ForClient(
    const TlsChannelOptions& options) {
  if (options.certificate_file.empty() != options.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS: a client certificate needs both certificate_file and "
        "private_key_file");
  }
  SOCKRPC_ASSIGN_OR_RETURN(const OpenSslLibrary* library, LoadOpenSsl());
  const OpenSslLibrary& openssl = *library;
  SSL_CTX* ctx = NewContext(openssl, /*is_server=*/false, options.min_version);
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("TLS: SSL_CTX_new: ", TakeOpenSslErrors()));
  }
  std::shared_ptr<TlsContext> context(
      new TlsContext(openssl, ctx, /*is_server=*/false));
  context->verifies_peer_ = !options.insecure_skip_verify;
  if (!options.insecure_skip_verify) {
    const int loaded = options.ca_file.empty()
                           ? openssl.SSL_CTX_set_default_verify_paths(ctx)
                           : openssl.SSL_CTX_load_verify_locations(
                                 ctx, options.ca_file.c_str(), nullptr);
    if (loaded != 1) return FileError("trust roots", options.ca_file);
    openssl.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    openssl.SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.certificate_file.empty()) {
    if (openssl.SSL_CTX_use_certificate_chain_file(
            ctx, options.certificate_file.c_str()) != 1) {
      return FileError("client certificate chain", options.certificate_file);
    }
    if (openssl.SSL_CTX_use_PrivateKey_file(
            ctx, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        openssl.SSL_CTX_check_private_key(ctx) != 1) {
      return FileError("client private key", options.private_key_file);
    }
  }
  if (openssl.SSL_CTX_set_alpn_protos(ctx, kAlpnWire, kAlpnWireSize) != 0) {
    return absl::InternalError("TLS: cannot set ALPN");
  }
  return std::shared_ptr<const TlsContext>(std::move(context));
}

absl::StatusOr<std::unique_ptr<ReloadingTlsContext>>
ReloadingTlsContext::ForServer(TlsServerOptions options,
                               absl::Duration look_interval) {
  std::vector<std::string> files = {options.certificate_file,
                                    options.private_key_file,
                                    options.client_ca_file};
  return Create([options] { return TlsContext::ForServer(options); },
                std::move(files), look_interval);
}

absl::StatusOr<std::unique_ptr<ReloadingTlsContext>>
ReloadingTlsContext::ForClient(TlsChannelOptions options,
                               absl::Duration look_interval) {
  std::vector<std::string> files = {options.certificate_file,
                                    options.private_key_file, options.ca_file};
  return Create([options] { return TlsContext::ForClient(options); },
                std::move(files), look_interval);
}

absl::StatusOr<std::unique_ptr<ReloadingTlsContext>>
ReloadingTlsContext::Create(Make make, std::vector<std::string> files,
                            absl::Duration look_interval) {
  std::unique_ptr<ReloadingTlsContext> reloading(new ReloadingTlsContext(
      std::move(make), std::move(files), look_interval));
  MutexLock lock(&reloading->mu_);
  reloading->stamps_ = reloading->StampFiles();
  absl::StatusOr<std::shared_ptr<const TlsContext>> first = reloading->make_();
  if (!first.ok()) return first.status();
  reloading->current_ = *std::move(first);
  reloading->next_look_ = absl::Now() + look_interval;
  return reloading;
}

std::vector<ReloadingTlsContext::Stamp> ReloadingTlsContext::StampFiles()
    const {
  std::vector<Stamp> stamps;
  for (const std::string& file : files_) {
    Stamp stamp;
    struct stat info;
    if (!file.empty() && ::stat(file.c_str(), &info) == 0) {
      stamp.device = info.st_dev;
      stamp.inode = info.st_ino;
      stamp.modified_nanos =
          int64_t{info.st_mtim.tv_sec} * 1000000000 + info.st_mtim.tv_nsec;
      stamp.size = info.st_size;
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

std::shared_ptr<const TlsContext> ReloadingTlsContext::Current(
    absl::Time now, std::string* reload_error) {
  MutexLock lock(&mu_);
  if (now < next_look_) return current_;
  next_look_ = now + look_interval_;
  std::vector<Stamp> stamps = StampFiles();
  if (stamps == stamps_) return current_;
  stamps_ = std::move(stamps);
  absl::StatusOr<std::shared_ptr<const TlsContext>> reloaded = make_();
  if (!reloaded.ok()) {
    *reload_error = absl::StrCat(
        "TLS files changed but do not load (the previous ones stay): ",
        reloaded.status().message());
    return current_;
  }
  current_ = *std::move(reloaded);
  return current_;
}

}  // namespace sockrpc
