// ClientConnection: one connection from a Channel to its server, carrying
// any number of concurrent calls. Internal to the client.
//
// Writing: a caller encodes its frames, then writes them whole under
// write_mu_ (stream ids are taken under that lock so they rise on the wire).
// Reading: there is no reader thread. A caller waiting for its reply
// becomes the reader if nobody else is; it reads and dispatches frames for
// every call until its own ends or its deadline passes, then gives the role
// up to the next waiting caller. A call alone in flight thus costs its
// thread one write and one read, with no hand-off.
//
// Thread-safe. Shared (std::shared_ptr) by the Channel and the calls in
// flight on it, so a replaced connection lives until its calls end.
#ifndef SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
#define SOCKRPC_CLIENT_CLIENT_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "google/protobuf/message_lite.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/frame_reader.h"

namespace sockrpc {

class ClientConnection {
 public:
  // `fd` is a connected socket to `address`.
  ClientConnection(Fd fd, Address address, const ChannelOptions& options);
  ~ClientConnection();

  // The outcome of one call. `retryable` is true when the server certainly
  // never saw the call (nothing was sent, or a GOAWAY excluded it), so it
  // may be sent again on a new connection.
  struct CallResult {
    absl::Status status;
    bool retryable = false;
  };

  // Makes one unary call; see Channel::CallUnary. `context` may be null.
  CallResult CallUnary(ClientContext* context, absl::string_view method,
                       const google::protobuf::MessageLite& request,
                       google::protobuf::MessageLite* reply,
                       absl::Time deadline);

  // False once the connection failed or the server said GOAWAY: the
  // Channel then makes a new one.
  bool usable() const;

  // For an idle connection (no call in flight): true if the peer has
  // closed it, checked without blocking. Used for TCP, where a write into
  // a connection the peer closed does not fail at once.
  bool PeerClosedWhileIdle();

 private:
  // One call waiting for its reply; lives on its caller's stack.
  struct PendingCall {
    ClientContext* context;  // may be null
    google::protobuf::MessageLite* reply;
    bool done = false;
    bool got_reply = false;
    bool retryable = false;
    absl::Status status;
  };

  // Writes `preface_and_frames` whole, waiting for room until `deadline`.
  absl::Status WriteAll(absl::string_view bytes, absl::Time deadline,
                        size_t* written) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Takes the reader role until call `stream_id` is done or `deadline`.
  void ReadUntilDone(uint32_t stream_id, absl::Time deadline);
  // Handles the frames buffered in reader_; sets *mine_done when the frame
  // that ends call `stream_id` was among them. False if the connection
  // failed.
  bool ProcessFrames(uint32_t stream_id, bool* mine_done);
  bool HandleFrame(const FrameReader::Frame& frame, uint32_t stream_id,
                   bool* mine_done);
  // Ends call `stream_id` (if still pending) with `status`.
  void FinishCall(uint32_t stream_id, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails the connection and every call on it; later calls get `status`.
  void Fail(const absl::Status& status);
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Best effort: tells the server that call `stream_id` was abandoned.
  void SendCancel(uint32_t stream_id, absl::string_view reason);
  void SendRaw(absl::string_view bytes);

  const Fd fd_;
  const Address address_;
  const std::string target_;  // address_ as text, for messages
  const uint32_t max_frame_size_;

  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool preface_sent_ ABSL_GUARDED_BY(write_mu_) = false;
  uint32_t next_stream_id_ ABSL_GUARDED_BY(write_mu_) = 1;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, PendingCall*> calls_ ABSL_GUARDED_BY(mu_);
  bool reader_active_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the connection failed or was told to go away.
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  bool going_away_ ABSL_GUARDED_BY(mu_) = false;

  // Used only by the caller holding the reader role.
  FrameReader reader_;
  bool preface_received_ = false;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
