// ClientConnection: one connection from a Channel to its server, carrying
// any number of concurrent calls (ClientStreams). Internal to the client.
//
// Writing: a caller encodes its frames, then writes them whole under
// write_mu_ (stream ids are taken under that lock so they rise on the
// wire). With ChannelOptions::batch_call_starts, the opening frames of
// calls begun by StartCall are appended to held_ instead; every write
// sends held_ first (in the same system call), and a caller about to wait
// flushes it, so held calls keep their order and nobody waits on a reply
// to a call that was never sent. Writing lives in client_writes.cc.
//
// Reading: there is no reader thread. A caller that must wait (for
// a reply, a message, the end of a call, or flow-control window) becomes
// the reader if nobody else is; it reads and dispatches frames for every
// call until what it waits for has happened or its deadline passes, then
// gives the role up to the next waiting caller. A unary call alone in
// flight thus costs its thread one write and one read, with no hand-off.
//
// Thread-safe. Shared (std::shared_ptr) by the Channel and the streams in
// flight on it, so a replaced connection lives until its calls end.
#ifndef SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
#define SOCKRPC_CLIENT_CLIENT_CONNECTION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "transport/sync.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_stream.h"
#include "google/protobuf/message_lite.h"
#include "transport/address.h"
#include "transport/buffer_pool.h"
#include "transport/fd.h"
#include "transport/frame_reader.h"

namespace sockrpc {

class ClientConnection {
 public:
  // `fd` is a connected socket to `address`.
  ClientConnection(Fd fd, Address address, const ChannelOptions& options);
  ~ClientConnection();

  // Sends the opening frames of `stream` (HEADERS, and with `request` a
  // MESSAGE that half-closes). On failure the stream is done with the
  // error, and Open() returns true if the server certainly never saw the
  // call (so it may be retried on another connection).
  // `unary_reply`: where a unary call's reply is parsed (CallUnary()).
  bool Open(const std::shared_ptr<ClientStream>& stream,
            absl::string_view method,
            const google::protobuf::MessageLite* request,
            google::protobuf::MessageLite* unary_reply = nullptr);

  // Makes a whole unary call on a new stream; see Channel::CallUnary.
  // Returns the status and whether it may be retried elsewhere.
  absl::Status CallUnary(const std::shared_ptr<ClientStream>& stream,
                         absl::string_view method,
                         const google::protobuf::MessageLite& request,
                         google::protobuf::MessageLite* reply,
                         bool* retryable);

  // Stream operations; see ClientCall.
  bool Write(ClientStream& stream, const google::protobuf::MessageLite& message);
  bool WritesDone(ClientStream& stream);
  bool Read(ClientStream& stream, google::protobuf::MessageLite* message);
  bool WaitUntilDone(ClientStream& stream, absl::Time deadline);
  absl::Status Finish(ClientStream& stream);
  void Cancel(ClientStream& stream, const absl::Status& why);

  // False once the connection failed or the server said GOAWAY: the
  // Channel then makes a new one.
  bool usable() const { return usable_.load(std::memory_order_relaxed); }

  // Writes the held calls' frames, if any (see batch_call_starts), waiting
  // for socket room until `deadline`. Out of time, the rest stays held (the
  // connection is still sound); on an error, fails the connection.
  void FlushHeld(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);

  // For an idle connection (no call in flight): true if the peer has
  // closed it, checked without blocking. Used for TCP, where a write into
  // a connection the peer closed does not fail at once.
  bool PeerClosedWhileIdle();

 private:
  using Predicate = std::function<bool()>;

  // Waits, reading for everyone while nobody else reads, until `ready()`
  // (evaluated under mu_) holds or `deadline` passes. If `stream`'s own
  // deadline passes first, ends it with DEADLINE_EXCEEDED. Returns ready().
  bool AwaitLocked(ClientStream* stream, const Predicate& ready,
                   absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Without blocking, reads and handles what the socket still holds, if no
  // other thread reads (used after a failed write).
  void ReadWhatIsLeft() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // The reader role: reads and dispatches until `ready()` or `deadline`.
  void ReadUntil(const Predicate& ready, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Handles the frames buffered in reader_. False if the connection failed.
  bool ProcessFrames();
  void HandleFrame(const FrameReader::Frame& frame);

  // Writes `bytes` whole (after our preface if not yet sent), waiting for
  // room until `deadline`. On failure fails the connection. *sent_nothing
  // tells whether no byte of `bytes` went out.
  absl::Status WriteFrames(absl::string_view bytes, absl::Time deadline,
                           bool* sent_nothing) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes our preface if not yet sent, then held_, then `bytes`, whole.
  // *written counts the bytes of `bytes` that went out. On time-out, what
  // is left of held_ stays held (the byte stream is still sound as long as
  // `bytes` went out whole or not at all; else the caller fails the
  // connection); after an error held_ is emptied.
  absl::Status WriteAllLocked(absl::string_view bytes, absl::Time deadline,
                              size_t* written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Our preface goes first on the wire: puts it in held_ (still empty)
  // if it has not been written or held yet.
  void HoldPrefaceIfDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // An empty buffer to encode frames into (a warm one from buffers_ if
  // there is one); give it back to buffers_ when written.
  std::string TakeBuffer();
  // Best effort control frames.
  void SendCancel(uint32_t stream_id, absl::string_view reason);
  void SendWindowUpdate(uint32_t stream_id, uint32_t increment);
  void SendControl(absl::string_view bytes);

  absl::Status ReplyMetadataTooLarge(const ClientStream& stream) const;
  // Ends `stream` with `status` and forgets it (if not ended yet).
  void EndStreamLocked(ClientStream& stream, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails the connection and every call on it; later calls get `status`.
  void Fail(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Fd fd_;
  const Address address_;
  const std::string target_;  // address_ as text, for messages
  const uint32_t max_frame_size_;
  const size_t max_metadata_size_;
  // An eventfd that wakes the thread holding the reader role when another
  // thread ends a call it may be waiting for (Cancel).
  const Fd wake_fd_;

  const bool batch_call_starts_;
  const size_t min_unanswered_to_hold_;  // see batch_call_starts

  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Set once our preface is written or held (held_ then starts with it).
  bool preface_sent_ ABSL_GUARDED_BY(write_mu_) = false;
  // Frames of calls opened but not yet written (batch_call_starts).
  std::string held_ ABSL_GUARDED_BY(write_mu_);
  size_t held_calls_ ABSL_GUARDED_BY(write_mu_) = 0;
  // Whether held_ has (or is about to have) bytes: set under write_mu_ and
  // mu_ when a call is held, cleared under write_mu_ when held_ empties;
  // read without locks by every wait.
  std::atomic<bool> has_held_{false};
  uint32_t next_stream_id_ ABSL_GUARDED_BY(write_mu_) = 1;

  mutable Mutex mu_;
  // Calls in flight, by stream id.
  absl::flat_hash_map<uint32_t, std::shared_ptr<ClientStream>> streams_
      ABSL_GUARDED_BY(mu_);
  bool reader_active_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the connection failed or was told to go away.
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  bool going_away_ ABSL_GUARDED_BY(mu_) = false;
  // broken_.ok() && !going_away_, readable without mu_ (every call asks).
  std::atomic<bool> usable_{true};

  // Large buffers kept warm for encoding and reading (see BufferPool); a
  // connection that moves only small messages keeps none.
  BufferPool buffers_;
  // Used only by the thread holding the reader role.
  FrameReader reader_;
  bool preface_received_ = false;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
