#include "transport/tls_stream.h"

#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "transport/posix_error.h"

namespace sockrpc {
namespace {

// The first byte of every TLS connection: a handshake record (ClientHello).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

}  // namespace

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Create(
    std::shared_ptr<const TlsContext> context, Fd fd,
    std::string plaintext_refusal) {
  const int raw = fd.get();
  std::unique_ptr<TlsStream> stream(
      new TlsStream(std::move(fd), std::move(plaintext_refusal)));
  absl::StatusOr<std::unique_ptr<TlsSession>> session =
      TlsSession::Create(std::move(context), raw);
  if (!session.ok()) return session.status();
  stream->session_ = *std::move(session);
  return stream;
}

absl::StatusOr<ssize_t> TlsStream::CheckFirstByte() {
  unsigned char first = 0;
  const ssize_t n = ::recv(fd_.get(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return 0;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
    return PosixError("recv", errno);
  }
  first_byte_checked_ = true;
  if (first == kTlsHandshakeRecord) return 1;
  if (!plaintext_refusal_.empty()) {
    // Best effort: a fresh socket takes these few bytes at once. What the
    // client sent is read first, so that the close is a FIN the client
    // reads after the refusal, not a reset that could discard it.
    char discard[4096];
    for (int i = 0; i < 16 && ::recv(fd_.get(), discard, sizeof(discard),
                                     MSG_DONTWAIT) > 0;
         ++i) {
    }
    (void)::send(fd_.get(), plaintext_refusal_.data(),
                 plaintext_refusal_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  return absl::UnavailableError(
      "TLS handshake failed: the client does not speak TLS");
}

absl::StatusOr<ssize_t> TlsStream::Read(char* buffer, size_t size) {
  if (ABSL_PREDICT_FALSE(!first_byte_checked_)) {
    absl::StatusOr<ssize_t> checked = CheckFirstByte();
    if (!checked.ok() || *checked <= 0) return checked;
  }
  return session_->Read(buffer, size);
}

absl::StatusOr<size_t> TlsStream::Write(const struct iovec* iov,
                                        int iov_count) {
  if (ABSL_PREDICT_FALSE(!session_->handshake_done())) {
    // (A GOAWAY to a client still in its handshake, at shutdown or its
    // time-out.) The client cannot read it; the connection just closes.
    return absl::UnavailableError("TLS handshake not done");
  }
  return session_->Write(iov, iov_count);
}

void TlsStream::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

bool TlsStream::HasBufferedInput() const {
  return session_->HasBufferedInput();
}

const TlsPeer* TlsStream::tls_peer() const {
  return session_->handshake_done() ? &session_->peer() : nullptr;
}

}  // namespace sockrpc
