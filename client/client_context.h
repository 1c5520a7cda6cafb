// ClientContext: the per-call settings a caller chooses (deadline, request
// metadata) and what the call brings back besides its reply (the server's
// initial and trailing metadata).
//
// One ClientContext serves one call: a call made with a context that
// served one already fails at once with FAILED_PRECONDITION, and nothing is
// sent. It is not thread-safe: the calling thread owns it for the duration
// of the call; only TryCancel() may be called from any thread.
#ifndef SOCKRPC_CLIENT_CLIENT_CONTEXT_H_
#define SOCKRPC_CLIENT_CLIENT_CONTEXT_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sockrpc/transport/call_fds.h"
#include "sockrpc/transport/metadata.h"

namespace sockrpc {

class ClientCallState;
namespace internal {
class ClientCallbackCall;
}  // namespace internal

class ClientContext {
 public:
  ClientContext() = default;
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // The call fails with DEADLINE_EXCEEDED if it has not completed by
  // `deadline`. The server is told how long it has. Default: no deadline.
  void set_deadline(absl::Time deadline) { deadline_ = deadline; }
  // Sets the deadline to now + `timeout`.
  void set_timeout(absl::Duration timeout) {
    deadline_ = absl::Now() + timeout;
  }
  absl::Time deadline() const { return deadline_; }

  // Adds a request metadata entry. Keys are lower-case; a key ending in
  // "-bin" may hold any bytes (see transport/metadata.h). An invalid entry
  // makes the call fail with INVALID_ARGUMENT before anything is sent.
  void AddMetadata(absl::string_view key, absl::string_view value) {
    metadata_.emplace_back(std::string(key), std::string(value));
  }
  // The request metadata added so far.
  const Metadata& request_metadata() const { return metadata_; }

  // The server's initial and trailing metadata (gRPC's
  // GetServerInitialMetadata() and GetServerTrailingMetadata()); filled in
  // by the call.
  const Metadata& server_initial_metadata() const { return initial_metadata_; }
  const Metadata& server_trailing_metadata() const {
    return trailing_metadata_;
  }

  // File descriptors in messages (sockrpc.FileDescriptor fields over unix
  // sockets; see transport/call_fds.h). AttachFd() gives `fd` to the next
  // request this call sends and returns the field naming it there:
  //
  //   *request.mutable_file() = context.AttachFd(std::move(file));
  //
  // A request with descriptors to a server that accepts none (TCP, or no
  // ServerOptions::max_fds_per_message) fails the call with
  // FAILED_PRECONDITION before anything of it is written. TakeFd() hands
  // out, once each, the descriptors of the reply read last (the channel
  // accepts them only with ChannelOptions::max_fds_per_message set);
  // INVALID_ARGUMENT if the reply came with no such descriptor,
  // FAILED_PRECONDITION if it was taken already.
  FileDescriptor AttachFd(Fd fd) { return fds_.Attach(std::move(fd)); }
  absl::StatusOr<Fd> TakeFd(const FileDescriptor& field) {
    return fds_.Take(field);
  }

  // Cancels the call (now or, if it has not started, as soon as it does):
  // it ends with CANCELLED and the server is told. Thread-safe.
  void TryCancel();

 private:
  friend class ClientConnection;  // fills in the server's metadata
  friend class Channel;
  friend class internal::ClientCallbackCall;  // takes a write's descriptors

  // Marks the context as serving a call; false if it served one already.
  bool Claim() {
    if (claimed_) return false;
    claimed_ = true;
    return true;
  }
  // Attaches the call `stream` for TryCancel(); false if already cancelled.
  bool AttachStream(const std::shared_ptr<ClientCallState>& stream) {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    if (cancelled_) return false;
    stream_ = stream;
    return true;
  }

  // A plain std::mutex (not transport/sync.h's Mutex, which is internal):
  // it only guards these two fields, and no one waits on it.
  std::mutex cancel_mu_;
  bool cancelled_ = false;  // guarded by cancel_mu_
  // The call this context is attached to while it is in flight; guarded by
  // cancel_mu_.
  std::weak_ptr<ClientCallState> stream_;

  // Whether a call has used this context (Claim()).
  bool claimed_ = false;
  absl::Time deadline_ = absl::InfiniteFuture();
  Metadata metadata_;
  Metadata initial_metadata_;
  Metadata trailing_metadata_;
  CallFds fds_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CONTEXT_H_
