// TlsStream: the server's ByteStream for a TLS connection: a TlsSession over
// the accepted socket, whose handshake runs in Read() on the event loop.
//
// The socket stays the descriptor epoll watches, but recv() on it reads
// ciphertext: ReadsAsRecv() is false (no io_uring receives), and plaintext
// the session holds is reported by HasBufferedInput(). A client that
// speaks sockrpc without TLS is told so in plaintext (the refusal bytes it
// was made with: a preface and a GOAWAY) before the connection fails, so
// it reports a clear error rather than a closed connection. A write before
// the handshake is done (a GOAWAY to a client that never finished it)
// fails, and the connection closes: the client could not read it. A
// handshake that waits for room to write (a flight larger than the socket's
// send buffer, which a fresh socket's 16 KiB or more avoids) is resumed by
// the next read event, so at worst it ends at the handshake time-out.
//
// Thread-safety: as TlsSession (one reader, one writer); Shutdown() from
// any thread.
#ifndef SOCKRPC_TRANSPORT_TLS_STREAM_H_
#define SOCKRPC_TRANSPORT_TLS_STREAM_H_

#include <memory>
#include <string>

#include "transport/byte_stream.h"
#include "transport/tls_session.h"

namespace sockrpc {

class TlsStream final : public ByteStream {
 public:
  // Owns `fd`. `plaintext_refusal` goes to a client without TLS.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Create(
      std::shared_ptr<const TlsContext> context, Fd fd,
      std::string plaintext_refusal);

  int fd() const override { return fd_.get(); }
  absl::StatusOr<ssize_t> Read(char* buffer, size_t size) override;
  absl::StatusOr<size_t> Write(const struct iovec* iov, int iov_count) override;
  void Shutdown() override;
  bool ReadsAsRecv() const override { return false; }
  bool HasBufferedInput() const override;
  const TlsPeer* tls_peer() const override;

 private:
  TlsStream(Fd fd, std::string plaintext_refusal)
      : fd_(std::move(fd)), plaintext_refusal_(std::move(plaintext_refusal)) {}
  // Before the handshake: whether the first byte is a TLS handshake
  // record's; -1 while nothing is there.
  absl::StatusOr<ssize_t> CheckFirstByte();

  const Fd fd_;
  std::unique_ptr<TlsSession> session_;  // destroyed before fd_ closes
  const std::string plaintext_refusal_;
  bool first_byte_checked_ = false;  // the reader's
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_TLS_STREAM_H_
