// ServerCallState: one call on the server, from its HEADERS frame to its
// final STATUS. Internal to the server runtime.
//
// The connection's reader creates it, registers it in the connection's
// table (so CANCEL, WINDOW_UPDATE and later MESSAGE frames find it) and
// hands it to a thread that runs the handler (Run()). For streaming calls
// it is the ServerStream the handler reads and writes; the reader feeds it
// messages, half-close and window updates. It ends exactly once: with a
// STATUS frame (Finish), or silently when the client cancelled or left.
//
// Thread-safe: the reader, the handler's thread, the deadline timer and
// Shutdown() may all touch it at once; mu_ guards the mutable state.
#ifndef SOCKRPC_SERVER_SERVER_CALL_H_
#define SOCKRPC_SERVER_SERVER_CALL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "transport/message_queue.h"
#include "transport/sync.h"
#include "absl/time/time.h"
#include "server/server_context.h"
#include "server/server_stream.h"
#include "server/service.h"
#include "sockrpc/wire.pb.h"

namespace sockrpc {

class ServerConnection;

class ServerCallState final : public ServerStream {
 public:
  // `client_metadata`: the call's request metadata, from its HEADERS.
  ServerCallState(std::shared_ptr<ServerConnection> connection,
                  uint32_t stream_id, const Service::Method* method,
                  Metadata client_metadata, absl::Time deadline);
  ~ServerCallState() override;

  uint32_t stream_id() const { return stream_id_; }
  absl::Time deadline() const { return context_.deadline(); }
  bool is_unary() const { return method_->kind == RpcKind::kUnary; }
  ServerConnection& connection() const { return *connection_; }

  // Runs the interceptors and the handler on the calling thread, then
  // ends the call. `request` is the request's encoding (unary calls only).
  void Run(absl::string_view request);

  // ---- Called by the connection's reader ----
  // True the first time only: the call's handler may be started.
  bool MarkStarted() { return !started_.exchange(true); }
  // Copies a unary call's `request` encoding into the call itself if it is
  // small enough (see ServerCall); false if it is not.
  bool KeepSmallRequest(absl::string_view request);
  const char* small_request() const { return small_request_; }
  // A MESSAGE of a streaming call. False if it overflows the call's window
  // (the peer broke flow control).
  bool OnMessage(absl::string_view payload);
  void OnHalfClose();
  void OnWindowUpdate(uint32_t increment);

  // Ends the call early. With `send_status` the client is sent `why` (a
  // deadline, a shutdown); without, it is gone or cancelled and hears
  // nothing. Handlers see IsCancelled(); blocked reads and writes return.
  void Cancel(const absl::Status& why, bool send_status);

  bool IsCancelled() const;
  bool WaitForCancellation(absl::Time deadline) const;

  // ServerStream:
  bool Read(google::protobuf::MessageLite* message) override;
  bool Write(const google::protobuf::MessageLite& message) override;
  bool SendInitialMetadata() override;

 private:
  class UnaryReplyWriter;

  // Sends the final frames (initial metadata if still due, the reply of a
  // unary call if any, STATUS) unless the call already ended, and removes
  // the call from its connection. Returns the status the call ended with.
  absl::Status Finish(const google::protobuf::MessageLite* unary_reply,
                      absl::Status status);
  void AppendInitialMetadataLocked(std::string* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RunHandler(absl::string_view request);
  size_t max_metadata_size() const;
  // Whether the handler's initial and trailing metadata may be sent.
  absl::Status ResponseMetadataStatus() const;

  // Requests up to this size are kept in the call's own allocation.
  static constexpr size_t kSmallRequestSize = 256;

  const std::shared_ptr<ServerConnection> connection_;
  std::atomic<bool> started_{false};
  // Written by the reader before the call is handed to a thread.
  char small_request_[kSmallRequestSize];
  const uint32_t stream_id_;
  const Service::Method* const method_;  // owned by a Service
  ServerContext context_;

  mutable Mutex mu_;
  // Request messages received and not yet read (streaming calls).
  MessageQueue inbox_ ABSL_GUARDED_BY(mu_);
  int64_t inbox_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the call is over for the client (cancel, deadline, gone).
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status cancel_reason_ ABSL_GUARDED_BY(mu_);
  // The status the call must end with, whoever finishes it (set by a
  // Cancel() that tells the client).
  std::optional<absl::Status> forced_status_ ABSL_GUARDED_BY(mu_);
  // Set once the STATUS went out, or the call ended without one.
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool initial_metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  // Bytes of MESSAGE payload we may still send before the client's next
  // WINDOW_UPDATE (may go negative by one message).
  int64_t send_window_ ABSL_GUARDED_BY(mu_);
  // Bytes read by the handler and not yet acknowledged to the client.
  uint32_t unacknowledged_ ABSL_GUARDED_BY(mu_) = 0;
};

// ServerCall is the work item for a thread: run `state`'s handler.
struct ServerCall {
  std::shared_ptr<ServerCallState> state;
  // Unary calls: the request's encoding is request_size bytes, kept in
  // the state (KeepSmallRequest) while request_buffer is empty, else at
  // request_offset in request_buffer (see FrameReader::DetachPayload).
  std::string request_buffer;
  size_t request_offset = 0;
  size_t request_size = 0;
  // Runs the call on this thread, then recycles request_buffer.
  void Run();
};

// The calls one connection event made ready to run: almost always one, so
// it is kept inline (no allocation per event).
using ReadyCalls = absl::InlinedVector<ServerCall, 1>;

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CALL_H_
