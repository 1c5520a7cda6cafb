// TlsSession: TLS over one connected non-blocking TCP socket, for either
// side, used the way the socket itself is (transport/socket.h's ReadSome()
// and WriteSome() contracts): nothing here waits, except the client's
// HandshakeUntil().
//
// Handshake: the client runs it to the end at connect, before the first
// frame (HandshakeUntil(), poll() until the deadline). The server runs it
// step by step inside Read(), as bytes arrive on its event loop: no thread
// waits for a handshake. Until it is done, Read() returns -1 ("nothing
// now") while the handshake waits for the peer.
//
// Reads: Read() fills the buffer from the records the session holds and
// those one recv() brings (OpenSSL reads ahead), so a read that returns
// less than asked means, as with recv(), that the socket is most likely
// drained: wait for it. A read that fills the buffer may leave plaintext
// or whole records inside the session, which no epoll or poll() on the
// socket reports: HasBufferedInput() says so, and a reader must read
// again before it waits.
//
// Writes: Write() returns what went out (whole records); 0 when the socket
// is full. The bytes not taken must be offered again, first, by the next
// Write() (more may follow them), as a socket's writer does anyway.
//
// Thread-safety: one reader and one writer may use a session at once, as
// with a socket (OpenSSL's object is not thread-safe: a lock inside takes
// them in turn, held only for the non-blocking OpenSSL call).
#ifndef SOCKRPC_TRANSPORT_TLS_SESSION_H_
#define SOCKRPC_TRANSPORT_TLS_SESSION_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/sync.h"
#include "transport/tls_context.h"
#include "transport/tls_options.h"

typedef struct ssl_st SSL;

namespace sockrpc {

class TlsSession {
 public:
  // A session over the socket `fd` (not owned: it must outlive the
  // session). A client's `server_name` is the name (or IP literal) the
  // server's certificate must carry, sent as SNI if it is a name.
  static absl::StatusOr<std::unique_ptr<TlsSession>> Create(
      std::shared_ptr<const TlsContext> context, int fd,
      const std::string& server_name = "");
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Client: the whole handshake, waiting for the socket until `deadline`
  // (DEADLINE_EXCEEDED). Failures are UNAVAILABLE and say why ("certificate
  // verify failed: ...", "the server does not speak TLS"). With a
  // `cancel_fd` (see Connect() in transport/socket.h), CANCELLED once it is
  // readable.
  absl::Status HandshakeUntil(absl::Time deadline, int cancel_fd = -1);

  bool handshake_done() const {
    return handshake_done_.load(std::memory_order_acquire);
  }
  // ReadSome()'s contract: the count read (> 0), 0 at the end of the
  // stream, -1 if nothing is there now (or the handshake waits). A failed
  // handshake or a broken stream is UNAVAILABLE, with the reason.
  absl::StatusOr<ssize_t> Read(char* buffer, size_t size);
  // WriteSome()'s contract (see above for what is not taken). Before the
  // handshake is done nothing is taken (0).
  absl::StatusOr<size_t> Write(const struct iovec* iov, int iov_count);
  // Whether plaintext waits inside the session (read before waiting).
  bool HasBufferedInput() const;
  // The peer, once the handshake is done (version and cipher included).
  const TlsPeer& peer() const { return peer_; }

 private:
  TlsSession(std::shared_ptr<const TlsContext> context, SSL* ssl, int fd);
  // One non-blocking step: OK when done, -1 in `*waits_for` (POLLIN or
  // POLLOUT) while it waits for the socket.
  absl::Status HandshakeStep(short* waits_for)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status HandshakeFailed(int result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StreamFailed(int result, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<const TlsContext> context_;
  const OpenSslLibrary& openssl_;  // context_'s
  SSL* const ssl_;
  const int fd_;
  mutable Mutex mu_;
  std::atomic<bool> handshake_done_{false};
  // Whether the last Read() stopped because the socket had nothing (see
  // HasBufferedInput()).
  bool socket_drained_ ABSL_GUARDED_BY(mu_) = false;
  TlsPeer peer_;  // written once, before handshake_done_
  // Server: who the allow-list refused (the verify callback writes it,
  // within a handshake step, under mu_).
  std::string refused_peer_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_TLS_SESSION_H_
