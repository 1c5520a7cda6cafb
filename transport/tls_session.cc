#include "transport/tls_session.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "transport/openssl_library.h"
#include "transport/posix_error.h"
#include "transport/socket.h"

namespace sockrpc {
namespace {

bool IsIpLiteral(const std::string& name) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

// The session's I/O: OpenSSL's own socket BIO writes with write(), which
// raises SIGPIPE when the peer is gone (killing a process that does not
// ignore it); this one sends with MSG_NOSIGNAL, as the runtimes' own
// writes do. The BIO's data is the descriptor.
int SocketOf(const OpenSslLibrary& openssl, BIO* bio) {
  return static_cast<int>(
      reinterpret_cast<intptr_t>(openssl.BIO_get_data(bio)));
}

bool TryAgain(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

// BIO_clear_retry_flags(), BIO_set_retry_write(), BIO_set_retry_read()
constexpr int kRetryFlags = BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY;
constexpr int kRetryWrite = BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY;
constexpr int kRetryRead = BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY;

int SocketBioWrite(BIO* bio, const char* data, int size) {
  const OpenSslLibrary& openssl = LoadedOpenSsl();
  openssl.BIO_clear_flags(bio, kRetryFlags);
  const ssize_t sent = ::send(SocketOf(openssl, bio), data,
                              static_cast<size_t>(size), MSG_NOSIGNAL);
  if (sent < 0 && TryAgain(errno)) openssl.BIO_set_flags(bio, kRetryWrite);
  return static_cast<int>(sent);
}

int SocketBioRead(BIO* bio, char* data, int size) {
  const OpenSslLibrary& openssl = LoadedOpenSsl();
  openssl.BIO_clear_flags(bio, kRetryFlags);
  const ssize_t got =
      ::recv(SocketOf(openssl, bio), data, static_cast<size_t>(size), 0);
  if (got < 0 && TryAgain(errno)) openssl.BIO_set_flags(bio, kRetryRead);
  // The end of the stream, which OpenSSL asks about (BIO_eof()) to tell a
  // close from an error.
  if (got == 0) openssl.BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  return static_cast<int>(got);
}

long SocketBioControl(BIO* bio, int command, long /*number*/,
                      void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return LoadedOpenSsl().BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

// Made once, never changed.
const BIO_METHOD* SocketBioMethod(const OpenSslLibrary& openssl) {
  static const BIO_METHOD* const method = [&openssl] {
    BIO_METHOD* made = openssl.BIO_meth_new(
        openssl.BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockrpc socket");
    openssl.BIO_meth_set_write(made, SocketBioWrite);
    openssl.BIO_meth_set_read(made, SocketBioRead);
    openssl.BIO_meth_set_ctrl(made, SocketBioControl);
    return made;
  }();
  return method;
}

// OpenSSL's reasons when the peer's bytes are not TLS at all.
bool LooksLikeNoTls(absl::string_view reason) {
  return absl::StrContains(reason, "wrong version number") ||
         absl::StrContains(reason, "packet length too long") ||
         absl::StrContains(reason, "record layer failure") ||
         absl::StrContains(reason, "http request");
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context, SSL* ssl,
                       int fd)
    : context_(std::move(context)),
      openssl_(context_->openssl()),
      ssl_(ssl),
      fd_(fd) {}

TlsSession::~TlsSession() { openssl_.SSL_free(ssl_); }

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Create(
    std::shared_ptr<const TlsContext> context, int fd,
    const std::string& server_name) {
  const OpenSslLibrary& openssl = context->openssl();
  SSL* ssl = openssl.SSL_new(context->get());
  if (ssl == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("TLS: SSL_new: ", TakeOpenSslErrors()));
  }
  const bool is_server = context->is_server();
  const bool verifies = context->verifies_peer();
  std::unique_ptr<TlsSession> session(
      new TlsSession(std::move(context), ssl, fd));
  BIO* bio = openssl.BIO_new(SocketBioMethod(openssl));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("TLS: BIO_new: ", TakeOpenSslErrors()));
  }
  openssl.BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  openssl.BIO_set_init(bio, 1);
  openssl.SSL_set_bio(ssl, bio, bio);  // the session owns it from here
  if (is_server) {
    openssl.SSL_set_accept_state(ssl);
    openssl.SSL_set_ex_data(ssl, 0, &session->refused_peer_);  // ..._app_data()
    return session;
  }
  openssl.SSL_set_connect_state(ssl);
  if (server_name.empty()) {
    if (verifies) {
      return absl::InvalidArgumentError(
          "TLS: no server name to check the server's certificate against "
          "(set TlsChannelOptions::server_name)");
    }
    return session;
  }
  if (IsIpLiteral(server_name)) {
    if (openssl.X509_VERIFY_PARAM_set1_ip_asc(openssl.SSL_get0_param(ssl),
                                              server_name.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS: bad server address \"", server_name, "\""));
    }
  } else if (openssl.SSL_ctrl(  // SSL_set_tlsext_host_name()
                 ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(server_name.c_str())) != 1 ||
             openssl.SSL_set1_host(ssl, server_name.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS: bad server name \"", server_name, "\""));
  }
  return session;
}

absl::Status TlsSession::HandshakeUntil(absl::Time deadline, int cancel_fd) {
  for (;;) {
    short waits_for = 0;
    {
      MutexLock lock(&mu_);
      absl::Status step = HandshakeStep(&waits_for);
      if (!step.ok() || waits_for == 0) return step;
    }
    bool cancelled = false;
    absl::Status ready =
        WaitFor(fd_, waits_for, deadline, cancel_fd, &cancelled);
    if (absl::IsDeadlineExceeded(ready)) {
      return absl::DeadlineExceededError(
          "TLS handshake not done by the deadline");
    }
    if (!ready.ok()) return ready;
    if (cancelled)
      return absl::CancelledError("the TLS handshake was cancelled");
  }
}

absl::Status TlsSession::HandshakeStep(short* waits_for) {
  *waits_for = 0;
  openssl_.ERR_clear_error();
  const int result = openssl_.SSL_do_handshake(ssl_);
  if (result != 1) {
    const int error = openssl_.SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ) {
      *waits_for = POLLIN;
      return absl::OkStatus();
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      *waits_for = POLLOUT;
      return absl::OkStatus();
    }
    return HandshakeFailed(result);
  }
  if (!context_->is_server()) {
    const unsigned char* protocol = nullptr;
    unsigned int size = 0;
    openssl_.SSL_get0_alpn_selected(ssl_, &protocol, &size);
    const absl::string_view selected(reinterpret_cast<const char*>(protocol),
                                     size);
    if (size != 0 && selected != kTlsAlpnId) {
      return absl::UnavailableError(absl::StrCat(
          "TLS handshake failed: the server chose the application protocol \"",
          selected, "\", not \"", kTlsAlpnId, "\""));
    }
  }
  peer_ = DescribeCertificate(openssl_.SSL_get0_peer_certificate(ssl_));
  peer_.version = openssl_.SSL_get_version(ssl_);
  peer_.cipher =
      openssl_.SSL_CIPHER_get_name(openssl_.SSL_get_current_cipher(ssl_));
  handshake_done_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status TlsSession::HandshakeFailed(int result) {
  const int error = openssl_.SSL_get_error(ssl_, result);
  const int saved_errno = errno;
  std::string reason = TakeOpenSslErrors();
  const long verified = openssl_.SSL_get_verify_result(ssl_);
  if (verified != X509_V_OK && absl::StrContains(reason, "verify failed")) {
    absl::StrAppend(&reason, ": ",
                    openssl_.X509_verify_cert_error_string(verified));
  }
  if (LooksLikeNoTls(reason)) {
    absl::StrAppend(&reason, " (the peer does not speak TLS)");
  }
  if (!refused_peer_.empty()) {
    absl::StrAppend(&reason, " (the client's certificate names ", refused_peer_,
                    ": not in allowed_peers)");
  }
  if (reason.empty()) {
    reason = error == SSL_ERROR_SYSCALL && saved_errno != 0
                 ? ErrnoText(saved_errno)
                 : "the peer closed the connection";
  }
  return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", reason));
}

absl::Status TlsSession::StreamFailed(int result, absl::string_view what) {
  const int error = openssl_.SSL_get_error(ssl_, result);
  const int saved_errno = errno;
  std::string reason = TakeOpenSslErrors();
  if (reason.empty()) {
    reason = error == SSL_ERROR_SYSCALL && saved_errno != 0
                 ? ErrnoText(saved_errno)
                 : absl::StrCat("SSL error ", error);
  }
  return absl::UnavailableError(absl::StrCat("TLS ", what, ": ", reason));
}

absl::StatusOr<ssize_t> TlsSession::Read(char* buffer, size_t size) {
  MutexLock lock(&mu_);
  if (ABSL_PREDICT_FALSE(!handshake_done())) {
    short waits_for = 0;
    absl::Status step = HandshakeStep(&waits_for);
    if (!step.ok()) return step;
    if (waits_for != 0) return -1;
  }
  openssl_.ERR_clear_error();
  size_t total = 0;
  socket_drained_ = false;
  while (total < size) {
    size_t got = 0;
    const int result =
        openssl_.SSL_read_ex(ssl_, buffer + total, size - total, &got);
    if (result == 1) {
      total += got;
      // Nothing more inside: a short read, as recv()'s after it took what
      // the socket had (epoll reports whatever comes next).
      if (openssl_.SSL_has_pending(ssl_) == 0) break;
      continue;
    }
    const int error = openssl_.SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      // The socket said "nothing now": what the session keeps is part of
      // a record, and the rest will wake the socket's waiter.
      socket_drained_ = true;
      break;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      // The peer closed: what came before is read first.
      if (total == 0) return 0;
      break;
    }
    return StreamFailed(result, "read");
  }
  return total == 0 ? ssize_t{-1} : static_cast<ssize_t>(total);
}

absl::StatusOr<size_t> TlsSession::Write(const struct iovec* iov,
                                         int iov_count) {
  MutexLock lock(&mu_);
  if (ABSL_PREDICT_FALSE(!handshake_done())) return 0;
  openssl_.ERR_clear_error();
  size_t total = 0;
  for (int i = 0; i < iov_count; ++i) {
    const char* bytes = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      size_t written = 0;
      const int result = openssl_.SSL_write_ex(ssl_, bytes, left, &written);
      if (result == 1) {
        total += written;
        bytes += written;
        left -= written;
        continue;
      }
      const int error = openssl_.SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_WRITE) {
        return total;  // offered again, first, by the next Write()
      }
      if (error == SSL_ERROR_WANT_READ) {
        // A write that waits for the peer (a TLS 1.2 renegotiation, which
        // is refused): waiting for room to write would spin.
        return absl::UnavailableError(
            "TLS write: the peer asked for a renegotiation");
      }
      absl::Status failed = StreamFailed(result, "write");
      // A server that refused our certificate after the handshake (TLS
      // 1.3 checks it last) sent an alert saying why before it closed:
      // that reason, if it is there, rather than "broken pipe". (A peek:
      // data before it stays for the reader.)
      char ignored[1];
      size_t got = 0;
      const int peeked =
          openssl_.SSL_peek_ex(ssl_, ignored, sizeof(ignored), &got);
      if (peeked != 1 &&
          openssl_.SSL_get_error(ssl_, peeked) == SSL_ERROR_SSL) {
        return StreamFailed(peeked, "write");
      }
      return failed;
    }
  }
  return total;
}

bool TlsSession::HasBufferedInput() const {
  MutexLock lock(&mu_);
  // Decrypted bytes, or whole records read ahead; not part of a record
  // after the socket ran dry (more bytes must come, and epoll says so).
  return openssl_.SSL_pending(ssl_) > 0 ||
         (!socket_drained_ && openssl_.SSL_has_pending(ssl_) == 1);
}

}  // namespace sockrpc
