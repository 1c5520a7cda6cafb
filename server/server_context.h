// ServerContext: what a handler knows about the call it serves (method,
// deadline, the client's metadata, the peer, whether it was cancelled) and
// the metadata it sends back.
//
// The runtime creates one per call and passes it to the handler (and to
// server interceptors), which borrow it for the duration of the call only.
// IsCancelled() and WaitForCancellation() may be called from any thread;
// everything else from the handler's thread.
#ifndef SOCKRPC_SERVER_SERVER_CONTEXT_H_
#define SOCKRPC_SERVER_SERVER_CONTEXT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sockrpc/transport/call_fds.h"
#include "sockrpc/transport/metadata.h"
#include "sockrpc/transport/peer_credentials.h"
#include "sockrpc/transport/tls_options.h"

namespace sockrpc {

class ServerCallState;

class ServerContext {
 public:
  ServerContext() = default;
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The full method name, "/package.Service/Method".
  const std::string& method() const { return *method_; }
  // When the client stops waiting; absl::InfiniteFuture() if it set none.
  absl::Time deadline() const { return deadline_; }
  // The client's request metadata.
  const Metadata& client_metadata() const { return client_metadata_; }
  // The client's address: "unix:PATH" (the server's socket for a unix
  // peer), "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678".
  const std::string& peer() const { return *peer_; }
  // The peer process's pid, uid and gid, for unix sockets; empty for TCP.
  const std::optional<PeerCredentials>& peer_credentials() const {
    return peer_credentials_;
  }
  // What a TLS client proved (its certificate's subject and alternative
  // names, a SPIFFE ID, the TLS version and cipher); nullptr without TLS.
  // Valid while the call lives.
  const TlsPeer* tls_peer() const { return tls_peer_; }

  // True once the call is over for the client: it cancelled the call,
  // disconnected, or the deadline passed. The client no longer waits for
  // the reply, so a long handler should stop early. Stream reads and writes
  // return false from then on.
  bool IsCancelled() const;
  // Blocks until the call is cancelled (returns true) or `deadline` passes
  // (returns false).
  bool WaitForCancellation(absl::Time deadline) const;

  // Metadata sent to the client before the reply / with the final status.
  // Invalid entries (see transport/metadata.h) turn the call's status into
  // INTERNAL.
  void AddInitialMetadata(absl::string_view key, absl::string_view value) {
    initial_metadata_.emplace_back(std::string(key), std::string(value));
  }
  void AddTrailingMetadata(absl::string_view key, absl::string_view value) {
    trailing_metadata_.emplace_back(std::string(key), std::string(value));
  }
  const Metadata& initial_metadata() const { return initial_metadata_; }
  const Metadata& trailing_metadata() const { return trailing_metadata_; }

  // File descriptors in messages (sockrpc.FileDescriptor fields over unix
  // sockets; the server accepts them only with
  // ServerOptions::max_fds_per_message set, and sends them to clients that
  // accept them). TakeFd() hands out, once each,
  // the descriptors of the request message read last, named by its fields:
  //
  //   absl::StatusOr<sockrpc::Fd> file = context->TakeFd(request->file());
  //
  // INVALID_ARGUMENT if the message came with no such descriptor,
  // FAILED_PRECONDITION if it was taken already. Those not taken are closed
  // when the next request is read or the call ends. See
  // transport/call_fds.h.
  absl::StatusOr<Fd> TakeFd(const FileDescriptor& field) {
    return fds_.Take(field);
  }
  // Attaches `fd` to the next reply this handler sends (the unary reply,
  // or the next Write()); returns the field naming it there:
  //
  //   *reply->mutable_file() = context->AttachFd(std::move(file));
  //
  // The runtime closes its copy once sent, or when the call ends. A reply
  // with descriptors to a client that accepts none (a TCP client, one
  // without SETTINGS for them) fails the call with FAILED_PRECONDITION
  // before anything of that reply is written.
  FileDescriptor AttachFd(Fd fd) { return fds_.Attach(std::move(fd)); }

 private:
  friend class ServerCallState;  // fills in the call's fields
  friend class CallbackServerContext;  // reaches the call

  // What method() and peer() say of a context that belongs to no call.
  static const std::string& EmptyString() {
    static const std::string* const empty = new std::string();
    return *empty;
  }

  ServerCallState* call_ = nullptr;  // the call this context belongs to
  // Borrowed from the method's Service and from the connection, both of
  // which outlive the call (no copy per call).
  const std::string* method_ = &EmptyString();
  absl::Time deadline_ = absl::InfiniteFuture();
  Metadata client_metadata_;
  const std::string* peer_ = &EmptyString();
  std::optional<PeerCredentials> peer_credentials_;
  const TlsPeer* tls_peer_ = nullptr;  // the connection's stream's
  Metadata initial_metadata_;
  Metadata trailing_metadata_;
  CallFds fds_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CONTEXT_H_
