// ClientCallState: the client's state of one call on one connection (the
// counterpart of the server's ServerCallState).
// Internal to the client.
//
// Created by Channel for each call, shared by the ClientCall that owns the
// call, the connection's table of calls (until the call ends) and the
// ClientContext (weakly, for TryCancel), and for a callback call its
// ClientCallbackCall. A blocking unary call without a context is the
// exception: its state lives on the caller's stack, and the table's
// shared_ptr to it owns nothing (Channel::CallUnaryWithoutContext()). Every
// mutable field is guarded by the connection's mutex, which also coordinates
// which thread reads.
#ifndef SOCKRPC_CLIENT_CLIENT_CALL_STATE_H_
#define SOCKRPC_CLIENT_CLIENT_CALL_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/client_context.h"
#include "google/protobuf/message_lite.h"
#include "transport/fd.h"
#include "transport/frame.h"
#include "transport/message_queue.h"

namespace sockrpc {

class ClientConnection;
namespace internal {
class ClientCallbackCall;
}  // namespace internal

// The opening frames of a callback call whose request carries file
// descriptors, made before the server said whether it takes them: kept,
// unsent, until its first frame does (ClientConnection::ResumeOpen()).
struct PendingOpen {
  std::string frames;     // HEADERS, FDS, MESSAGE; stream ids still 0
  size_t fds_offset = 0;  // where the FDS frame begins
  size_t message_offset = 0;
  std::vector<Fd> fds;
};

class ClientCallState {
 public:
  // A stream on `connection`, or (null connection) a call that failed
  // before it could start with `failure`.
  ClientCallState(std::shared_ptr<ClientConnection> connection,
                  ClientContext* context, absl::Time deadline,
                  absl::Status failure = absl::OkStatus());

  ClientConnection* connection() const { return connection_.get(); }
  ClientContext* context() const { return context_; }
  absl::Time deadline() const { return deadline_; }

  // Cancels the call with `why` (CANCELLED for TryCancel). Thread-safe.
  void Cancel(const absl::Status& why);

 private:
  friend class Channel;  // attaches a callback call
  friend class ClientConnection;
  friend class ClientCall;
  friend class internal::ClientCallbackCall;  // reads a failed stream

  const std::shared_ptr<ClientConnection> connection_;
  ClientContext* const context_;  // may be null
  const absl::Time deadline_;

  // ---- Guarded by connection_->mu_ (or immutable without a connection) ----
  uint32_t id_ = 0;  // 0 until the HEADERS frame is sent
  // Reply messages received and not yet read.
  MessageQueue inbox_;
  // Unary calls: the reply is parsed straight into this, not queued.
  google::protobuf::MessageLite* direct_reply_ = nullptr;
  bool got_reply_ = false;
  // Initial metadata (HEADERS) or a reply message has arrived.
  bool got_metadata_ = false;
  // The callback API's side of the call (client/client_callback_call.h),
  // scheduled on the channel's event loop at each change; null for calls
  // no callback waits on.
  internal::ClientCallbackCall* callback_ = nullptr;
  // The call is over: STATUS received, or it failed or was cancelled.
  // Whoever sets it once the call is in its connection's table takes it out
  // of the table in the same hold of the connection's mutex
  // (EndStreamLocked(), FailLocked()): a call without a context lives on
  // its caller's stack, which it leaves as soon as it sees done_.
  bool done_ = false;
  absl::Status status_;
  // The server certainly never saw the call (see ClientConnection).
  bool retryable_ = false;
  // Bytes of MESSAGE payload we may still send (flow control).
  int64_t send_window_ = kInitialWindowSize;
  // Bytes of replies read and not yet acknowledged with WINDOW_UPDATE.
  uint32_t unacknowledged_ = 0;
  bool half_closed_ = false;
  // A callback call not sent yet: its frames wait for the server's first
  // frame (see PendingOpen). Dropped (its descriptors closed) if the call
  // ends first.
  std::unique_ptr<PendingOpen> pending_open_;
  // In the connection's list of calls to schedule when the server's first
  // frame arrives: pending_open_, or a write with descriptors waiting.
  bool awaiting_settings_ = false;
  // Bytes of initial and trailing metadata received so far.
  size_t received_metadata_size_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CALL_STATE_H_
