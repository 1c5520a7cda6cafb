// ClientConnection: one connection from a Channel to its server, carrying
// any number of concurrent calls (ClientStreams). Internal to the client.
//
// Writing: a caller encodes its frames, then writes them whole under
// write_mu_ through out_ (client/outgoing_frames.h: the preface, stream
// ids, which rise on the wire, and the batching policy). With
// ChannelOptions::batch_call_starts, the opening frames of calls begun by
// StartCall may be held instead; every write sends the held bytes first
// (in the same system call), and a caller about to wait flushes them, so
// held calls keep their order and nobody waits on a reply to a call that
// was never sent. Callback calls and the event loop never wait for socket
// room: what the socket does not take is held, and the loop flushes it
// when the socket is writable. Sending lives in client_writes.cc.
//
// Reading: one thread at a time holds the reader role (reader_active_) and
// reads, through in_ (client/incoming_frames.h: the socket's bytes cut
// into frames, the server's preface checked first), and dispatches frames
// for every call (client_frames.cc); whoever holds the role, a frame
// for a callback call schedules that call on the channel's event loop
// (NotifyLocked()), whose thread runs the reactions.
// - A caller that must wait (for a reply, a message, the end of a call, or
//   flow-control window) becomes the reader if nobody else is; it reads
//   until what it waits for has happened or its deadline passes, then
//   gives the role up to the next waiting caller (leader/follower). A
//   unary call alone in flight thus costs its thread one write and one
//   read, with no hand-off. (While callback calls are in flight on the same
//   connection, the loop watches its socket too: a reply then also wakes
//   the loop, which finds the role taken, and giving the role up costs an
//   epoll_ctl to re-arm it; the loop may even read the reply first and
//   hand it over.)
// - The event loop (client/client_event_loop.h), started only by the
//   callback API or UnaryFuture::Then, watches the connection while it has
//   callback calls, in epoll, edge-triggered. When the socket is readable and
//   nobody holds the role, the loop takes it, reads what is there without
//   blocking (ReadForLoop()) and gives it back at once, so a blocking caller
//   that comes meanwhile waits at most one such drain. When somebody holds
//   it, the loop leaves the reading to that thread and notes that it wants
//   to read (loop_wants_read_); the thread re-arms the loop's registration
//   as it gives the role up (ReleaseReaderLocked()). One exception: the
//   loop's solo connection (the only one it watches, ReceiveForLoop()),
//   whose bytes it waits for holding the role, in one system call; a
//   blocking caller that comes to wait wakes it, and while one waits the
//   loop goes back to epoll. The loop's side lives in
//   client_connection_loop.cc.
//
// Thread-safe. Shared (std::shared_ptr) by the Channel and the streams in
// flight on it, so a replaced connection lives until its calls end. Locks,
// in order: a callback call's mutex, write_mu_, mu_, the event loop's.
#ifndef SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
#define SOCKRPC_CLIENT_CLIENT_CONNECTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_call_state.h"
#include "client/client_context.h"
#include "client/incoming_frames.h"
#include "client/outgoing_frames.h"
#include "google/protobuf/message_lite.h"
#include "transport/buffer_pool.h"
#include "transport/fd.h"
#include "transport/fork_generation.h"
#include "transport/frame_reader.h"
#include "transport/stream_table.h"
#include "transport/sync.h"

namespace sockrpc {

class ClientEventLoop;
namespace internal {
class ClientCallbackCall;
}  // namespace internal

class ClientConnection {
 public:
  // `fd` is a connected socket to `target` (the channel's, for messages);
  // `loop` is the channel's event loop (not started by this). With `tls`
  // (a session over `fd` whose handshake is done) every byte goes through
  // it, and the blocking reader reads with recv() rather than io_uring.
  ClientConnection(Fd fd, std::string target, const ChannelOptions& options,
                   std::shared_ptr<ClientEventLoop> loop,
                   std::unique_ptr<TlsSession> tls = nullptr);
  ~ClientConnection();

  // Sends the opening frames of `stream` (HEADERS, and with `request` a
  // MESSAGE that half-closes). On failure the stream is done with the
  // error, and Open() returns true if the server certainly never saw the
  // call (so it may be retried on another connection).
  // `unary_reply`: where a unary call's reply is parsed (CallUnary()).
  // `no_wait` (callback calls): never waits for socket room; what the
  // socket does not take stays held for the event loop to flush.
  // `hold_for_loop` (a callback call started on the event loop thread, by
  // a reaction): the frames may be held, not written, by the batching
  // policy of OutgoingFrames::DecideToHold() (whatever batch_call_starts
  // says), and the loop writes what its turn's reactions held in one go
  // before it waits again (ClientEventLoop::FlushAfterTurn()); needs
  // `no_wait`.
  bool Open(const std::shared_ptr<ClientCallState>& stream,
            absl::string_view method,
            const google::protobuf::MessageLite* request,
            google::protobuf::MessageLite* unary_reply = nullptr,
            bool no_wait = false, bool hold_for_loop = false);

  // Makes a whole unary call on a new stream; see Channel::CallUnary.
  // Returns the status and whether it may be retried elsewhere.
  absl::Status CallUnary(const std::shared_ptr<ClientCallState>& stream,
                         absl::string_view method,
                         const google::protobuf::MessageLite& request,
                         google::protobuf::MessageLite* reply, bool* retryable);

  // Stream operations; see ClientCall.
  bool Write(ClientCallState& stream,
             const google::protobuf::MessageLite& message);
  bool WritesDone(ClientCallState& stream);
  bool Read(ClientCallState& stream, google::protobuf::MessageLite* message);
  // A unary call's reply will be parsed into `reply` (which must outlive
  // the call) as it arrives, as CallUnary() does: true unless a reply or
  // the end already came (then it is read as for any call).
  bool ParseUnaryReplyInto(ClientCallState& stream,
                           google::protobuf::MessageLite* reply);
  bool WaitUntilDone(ClientCallState& stream, absl::Time deadline);
  absl::Status Finish(ClientCallState& stream);
  void Cancel(ClientCallState& stream, const absl::Status& why);

  // False once the connection failed or the server said GOAWAY: the
  // Channel then makes a new one.
  bool usable() const { return usable_.load(std::memory_order_relaxed); }

  // True in the child of a fork() made after this connection: the socket
  // and the locks belong to the parent's threads, so the child must not
  // touch the connection at all (client/channel.h, "Using a channel after
  // fork()"). One relaxed load.
  bool forked_away() const { return ForkGeneration() != fork_generation_; }
  // The connection's eventfd (see fd()), for a forked child closing its
  // copies of the descriptors.
  int wake_fd() const { return wake_fd_.get(); }
  // The reader's io_uring descriptor (-1 if none), for a forked child to
  // let go of (see Channel).
  int ring_fd_for_fork() const {
    return ring_fd_for_fork_.load(std::memory_order_acquire);
  }

  // True for a unix socket, false for TCP.
  bool is_unix() const { return unix_; }

  // Writes the held calls' frames, if any (see batch_call_starts), waiting
  // for socket room until `deadline`. Out of time, the rest stays held (the
  // connection is still sound); on an error, fails the connection.
  void FlushHeld(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);

  // For an idle connection (no call in flight): true if the peer has
  // closed it, checked without blocking. Used for TCP, where a write into
  // a connection the peer closed does not fail at once.
  bool PeerClosedWhileIdle();
  // Whether a channel may put a new call on this connection: usable(), and
  // over TCP not closed by the peer while idle.
  bool TakesNewCalls() {
    return usable() && (is_unix() || !PeerClosedWhileIdle());
  }
  // True once this side failed the connection for a call of its own: the
  // call's deadline (or its end) came while its request was half written,
  // which leaves the byte stream unusable. Not the server's doing, so
  // round_robin does not count it against the server
  // (client/channel_backends.cc).
  bool failed_by_own_call() const {
    return failed_by_own_call_.load(std::memory_order_acquire);
  }

  // ---- For the event loop and its calls (client_connection_loop.cc) ----
  // None of these blocks.

  ClientEventLoop* loop() const { return loop_.get(); }
  int fd() const { return fd_.get(); }
  // The loop's event on this connection: reads what the socket holds, if
  // no other thread holds the reader role (and returns when its keepalive
  // wants the next look: InfiniteFuture without keepalive, or if it did
  // not read); flushes held output.
  absl::Time ReadForLoop() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  void FlushForLoop() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // The loop's sleep while this connection alone is watched (its solo
  // connection, client/client_event_loop.h): takes the reader role and
  // waits through `ring` (the loop's, woken by its epoll instance) until
  // bytes come, `*woken` or `deadline`, reads and dispatches them, and
  // gives the role up. The first such sleep takes input out of the loop's
  // registration (loop_solo_). kRefused, with input back in it, if another
  // thread holds the role or waits for it, or the connection failed;
  // kRingFailed likewise if the kernel refused the ring. `*keepalive_look`
  // as ReadForLoop() returns it.
  enum class LoopReceive { kWaited, kRefused, kRingFailed };
  LoopReceive ReceiveForLoop(ReceiveRing& ring, absl::Time deadline,
                             bool* woken, absl::Time* keepalive_look)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // The loop no longer reads this connection through its ring: input back
  // in its registration, and what the socket holds reported.
  void EndLoopSolo() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a ring may read this connection: not TLS (the ring would read
  // ciphertext), no descriptors (those come with recvmsg()).
  bool ReadsThroughRing() const {
    return tls_ == nullptr && in_.max_fds_per_message() == 0;
  }
  // Arms the loop's edge-triggered registration for what is due: input,
  // and output while bytes are held (no system call when it is armed so
  // already). Nothing for a failed connection.
  void RearmForLoop() ABSL_LOCKS_EXCLUDED(mu_);

  // A callback call's view of its stream, taken under mu_.
  struct StreamView {
    bool done = false;
    absl::Status status;
    bool got_metadata = false;  // initial metadata or a reply arrived
    bool got_reply = false;     // a direct reply was parsed
    // Not sent yet: its request carries descriptors and the server has not
    // said whether it takes them (ResumeOpen()).
    bool opening = false;
  };
  StreamView Peek(const ClientCallState& stream) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `call` the callback call of `stream` (already open), which the
  // connection then schedules on the loop at each change.
  void AttachCallback(ClientCallState& stream,
                      internal::ClientCallbackCall* call)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Takes `stream`'s next reply message into `*payload` (acknowledging
  // what was read, as Read() does); false if there is none, with `*ended`
  // telling whether the call is over.
  // The message's descriptors, if any, go to `*fds`.
  bool TakeMessage(ClientCallState& stream, std::string* payload,
                   std::vector<Fd>* fds, bool* ended)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Matches the descriptors that came with `reply` (just parsed) with its
  // sockrpc.FileDescriptor fields and hands them to the call's context
  // (closing those of the reply before); INVALID_ARGUMENT for a field
  // naming none, which fails the call.
  static absl::Status AcceptReplyFds(ClientCallState& stream,
                                     const google::protobuf::MessageLite& reply,
                                     std::vector<Fd> fds);
  // Sends `*frame` (a MESSAGE frame encoded with stream id 0) on `stream`
  // if its window allows, without waiting.
  enum class WriteOutcome { kSent, kNoWindow, kAwaitingSettings, kEnded };
  WriteOutcome WriteNoWait(ClientCallState& stream, std::string* frame)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // WriteNoWait() of `*frames`, an FDS frame and its MESSAGE frame (stream
  // ids 0; the MESSAGE at `message_offset`), passing `*fds` with them
  // (PROTOCOL.md section 16.3). kAwaitingSettings: the server has not said
  // yet whether it takes descriptors; a PING asks, and its first frame
  // schedules the call again (nothing was sent, `*fds` are kept). If it
  // takes too few (or none, or this is TCP), the call is cancelled with
  // FAILED_PRECONDITION, nothing of the message sent: kEnded.
  WriteOutcome WriteWithFdsNoWait(ClientCallState& stream, std::string* frames,
                                  size_t message_offset, std::vector<Fd>* fds)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // For a stream whose Peek() says `opening`: once the server's first frame
  // has come, sends its opening frames with their descriptors, or ends it
  // with FAILED_PRECONDITION if the server does not take them; before
  // that, nothing.
  void ResumeOpen(const std::shared_ptr<ClientCallState>& stream)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Half-closes `stream` without waiting; false if it has ended.
  bool WritesDoneNoWait(ClientCallState& stream)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Ends `stream` with DEADLINE_EXCEEDED (the loop's timer) and tells the
  // server, if it has not ended yet.
  void Expire(ClientCallState& stream) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);

  // ---- Keepalive (ChannelOptions::keepalive_time; client_keepalive.cc) ----
  // (A time or time-out that is not positive turns it off too.)
  bool keepalive_enabled() const {
    return keepalive_time_ != absl::InfiniteDuration() &&
           keepalive_time_ > absl::ZeroDuration() &&
           keepalive_timeout_ > absl::ZeroDuration();
  }
  // The event loop's turn at keepalive for a connection it watches: unless
  // another thread holds the reader role (it keeps the connection alive
  // then), sends the PING that is due or fails the connection whose PING
  // went unanswered. Returns when to look again.
  absl::Time KeepAliveForLoop(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // ---- The server's preface, awaited (any thread) ----
  // When the server's preface must have arrived by: InfiniteFuture once it
  // has; else preface_timeout_ after the first ask (a reader about to
  // wait, a callback call taking its timer).
  absl::Time PrefaceDeadline() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether the server's preface has arrived (then PrefaceDeadline() is
  // InfiniteFuture for good).
  bool preface_arrived() const {
    return preface_arrived_.load(std::memory_order_acquire);
  }
  // If the preface has not arrived and its deadline has passed, fails the
  // connection (every call on it ends UNAVAILABLE) and returns true.
  bool FailIfPrefaceLate() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class ClientEventLoop;  // its notes: loop_watching_, loop_calls_...
  // Borrowed for the wait only: the waits never keep it.
  using Predicate = absl::FunctionRef<bool()>;

  // Reads go into this much space on the reading thread's stack first, so
  // that replies that arrive whole need no read buffer (see FrameReader).
  static constexpr size_t kReadScratchSize = 16 * 1024;

  // A copy of `status` with a representation of its own. A call's outcome
  // is read by its caller on another thread, so the Status stored in a
  // stream never shares its representation with one this thread goes on
  // using: Debian's Abseil counts Status references in code
  // ThreadSanitizer cannot see, and a representation freed by the last of
  // two threads looks to it like a race (the cost is one allocation per
  // failed call).
  static absl::Status Unshared(const absl::Status& status);
  // Rewrites the stream id of the frame header at `header`.
  static void PatchStreamId(char* header, uint32_t stream_id);

  // Waits, reading for everyone while nobody else reads, until `ready()`
  // (evaluated under mu_) holds or `deadline` passes. If `stream`'s own
  // deadline passes first, ends it with DEADLINE_EXCEEDED. Returns ready().
  bool AwaitLocked(ClientCallState* stream, Predicate ready,
                   absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Without blocking, reads and handles what the socket still holds, if no
  // other thread reads (used after a failed write).
  void ReadWhatIsLeft() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // The reader role: reads and dispatches until `ready()` or `deadline`.
  // One read into `scratch` (or in_'s own buffer), and the frames it
  // completed dispatched: kFull if it filled the space (more may be
  // there), kShort if not, kDrained if the socket held nothing, kStop if
  // the connection failed (Fail() done) or must not be read further.
  enum class ReadOutcome { kFull, kShort, kDrained, kStop, kRingFailed };
  ReadOutcome ReadAndDispatch(absl::Span<char> scratch);
  void ReadUntil(Predicate ready, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // As ReadAndDispatch(), waiting first until `deadline` through `ring`,
  // in one system call (kDrained: nothing came; `*woken`: wake_fd_ was
  // signalled).
  ReadOutcome ReceiveAndDispatch(ReceiveRing& ring, absl::Span<char> scratch,
                                 absl::Time deadline, bool* woken);
  // Lets go of a ring the kernel refuses: the reader polls from now on.
  void DropRing();
  // The reader's ring (ring_), made on first use; null: poll() and read.
  ReceiveRing* ReaderRing();
  // Without the ring: waits until the socket is readable (or TLS holds
  // input already), `wake_fd_` is signalled (`*woken`), or `deadline`
  // (false).
  bool WaitForInput(absl::Time deadline, bool* woken);
  // Dispatches the frames a read completed (`read`: what it did).
  ReadOutcome Dispatch(IncomingFrames::ReadResult read,
                       const absl::Status& error);
  // Until the server's preface has arrived, the reader waits no later than
  // PrefaceDeadline().
  absl::Time PrefaceWaitDeadline(absl::Time deadline);
  // The error of a connection whose server sent no preface in time.
  absl::Status PrefaceLateError() const;
  // out_.WriteAll() of `bytes` until `deadline`, but while the server's
  // preface has not arrived no longer than it may take to come: a server
  // that accepts and never reads fails the connection (PrefaceLateError())
  // instead of holding the writer for ever. Under write_mu_.
  absl::Status WriteAllInTime(absl::string_view bytes, absl::Time deadline,
                              size_t* written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Handles the frames buffered in in_. False if the connection failed.
  bool ProcessFrames();
  // After ProcessFrames(): tells other threads, once, that the server's
  // preface is in (a relaxed load per read; the store happens once).
  void NotePrefaceArrival() {
    if (ABSL_PREDICT_FALSE(!preface_arrived_.load(std::memory_order_relaxed)) &&
        in_.preface_received()) {
      preface_arrived_.store(true, std::memory_order_release);
    }
  }
  // Handles one frame; false if it failed the connection (a protocol
  // error).
  bool HandleFrame(const FrameReader::Frame& frame);
  // The server's first frame: its SETTINGS, or any other (then it sent
  // none).
  bool HandleFirstFrame(const FrameReader::Frame& frame);

  // Writes `bytes` whole (after our preface if not yet sent), waiting for
  // room until `deadline`. On failure fails the connection. *sent_nothing
  // tells whether no byte of `bytes` went out.
  absl::Status WriteFrames(absl::string_view bytes, absl::Time deadline,
                           bool* sent_nothing) ABSL_LOCKS_EXCLUDED(mu_);
  // WriteFrames() of `bytes`, an FDS frame and its MESSAGE, passing `fds`
  // with the write that begins with them (the server's preface is in: its
  // SETTINGS said it takes them).
  absl::Status WriteFramesWithFds(absl::string_view bytes,
                                  const std::vector<Fd>& fds,
                                  absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // OK if the server takes `count` descriptors with one message, learning
  // it first if it has to (a PING, then its first frame, by `deadline`);
  // else FAILED_PRECONDITION (or why the wait failed).
  absl::Status ServerAcceptsFds(size_t count, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Without waiting: FAILED_PRECONDITION if the server certainly does not
  // take `count` descriptors with one message (TCP, or its SETTINGS said
  // so); OK if it does or has not said yet (server_settings_known_).
  absl::Status FdsRefusedIfKnown(size_t count) const;
  // Under write_mu_ and mu_: gives `stream` (not ended) the next stream id
  // and enters it among the calls in flight, a request's
  // `request_payload` bytes counted against its window; or, if the
  // connection takes no more calls, ends it UNAVAILABLE (retryable_: the
  // server never saw it) and returns false.
  bool AdmitStreamLocked(const std::shared_ptr<ClientCallState>& stream,
                         bool with_request, size_t request_payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_, mu_);
  // A call's opening frames when they fit in kSmallOpenSize bytes at
  // `out`: HEADERS with only `method` and the timeout, and `request`'s
  // MESSAGE (of `request_size` bytes, at *message_offset), both with
  // stream id 0 (patched in when the call is admitted). Returns their
  // size, or 0 (nothing written) if they do not fit or a frame would
  // exceed the server's limit.
  size_t EncodeSmallOpening(absl::string_view method,
                            const google::protobuf::MessageLite& request,
                            size_t request_size, uint64_t timeout_micros,
                            char* out, size_t* message_offset) const;
  // Open() of a blocking unary call without a context whose frames
  // EncodeSmallOpening() put in `frames`: admitted and written at once.
  bool SendSmallUnaryOpening(const std::shared_ptr<ClientCallState>& stream,
                             absl::Span<char> frames, size_t message_offset,
                             google::protobuf::MessageLite* unary_reply)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Open()'s end when its write failed (`sent`, after `written` bytes):
  // the stream and the connection fail with the reason; returns whether
  // the call may be retried (the server certainly never saw it).
  bool OpeningNotSent(const std::shared_ptr<ClientCallState>& stream,
                      const absl::Status& sent, size_t written)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Open() of a callback call whose request carries descriptors: sent at
  // once if the server's first frame has come (SendPendingOpen()), else
  // kept in the stream until it does (ResumeOpen()), a PING asking for it.
  // Returns false (never retryable).
  bool OpenWithFdsNoWait(const std::shared_ptr<ClientCallState>& stream,
                         google::protobuf::MessageLite* unary_reply,
                         PendingOpen pending)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  void SendPendingOpen(const std::shared_ptr<ClientCallState>& stream,
                       PendingOpen pending) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Lists `stream` to be scheduled when the server's first frame arrives,
  // and sends a PING (once per connection) that makes the server send one.
  // False if it has arrived meanwhile (nothing to wait for).
  bool AwaitSettingsLocked(ClientCallState* stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AskForSettings() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // The reader, after the server's first frame: its SETTINGS are final;
  // schedules the calls that waited for them.
  void NoteSettingsKnown() ABSL_LOCKS_EXCLUDED(mu_);
  // Takes `stream` out of awaiting_settings_, if there.
  void ForgetAwaitingLocked(ClientCallState& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::vector<int> RawFds(const std::vector<Fd>& fds);
  // An empty buffer to encode frames into (a warm one from buffers_ if
  // there is one); give it back to buffers_ when written.
  std::string TakeBuffer();
  // Best effort control frames. While the event loop watches the
  // connection they never wait: what the socket does not take is held.
  void SendCancel(uint32_t stream_id, absl::string_view reason);
  void SendWindowUpdate(uint32_t stream_id, uint32_t increment);
  void SendControl(absl::string_view bytes);
  // Writes `bytes` without waiting (OutgoingFrames::WriteNoWait), then
  // fails the connection on an error or re-arms the loop for the held rest.
  void SendNoWait(absl::string_view bytes) ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // After a write without waiting: fails the connection if it failed, or
  // re-arms the loop to flush what is `held`.
  void AfterNoWaitWrite(const absl::Status& sent, bool held)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Gives the reader role up; re-arms the loop if it wanted to read
  // meanwhile.
  // (Inline, as NotifyLocked(): every call.)
  void ReleaseReaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reader_active_ = false;
    if (ABSL_PREDICT_FALSE(loop_wants_read_)) {
      loop_wants_read_ = false;
      RearmLocked(/*report_again=*/true);
    }
  }
  // RearmForLoop() under mu_; `report_again`: see ClientEventLoop::Arm().
  void RearmLocked(bool report_again = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndLoopSoloLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Schedules `stream`'s callback call, if it has one, after a change.
  void NotifyLocked(const ClientCallState& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stream.callback_ != nullptr) ScheduleLocked(stream);
  }
  void ScheduleLocked(const ClientCallState& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status ReplyMetadataTooLarge(const ClientCallState& stream) const;
  // Ends `stream` with `status` and forgets it (if not ended yet).
  void EndStreamLocked(ClientCallState& stream, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keepalive for the thread holding the reader role, at `now`: sends a
  // PING when nothing has arrived for keepalive_time_, and fails the
  // connection (returning false) when nothing has arrived for
  // keepalive_timeout_ after it. *look_again: when to call again, at the
  // latest (InfiniteFuture with keepalive off).
  bool KeepAliveAsReader(absl::Time now, absl::Time* look_again)
      ABSL_LOCKS_EXCLUDED(mu_, write_mu_);
  // Fails the connection and every call on it; later calls get `status`.
  void Fail(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Fd fd_;
  const std::unique_ptr<TlsSession> tls_;  // over fd_; destroyed before it
  // ForkGeneration() when made (see forked_away()).
  const uint64_t fork_generation_ = ForkGeneration();
  const std::string target_;  // for messages
  const bool unix_;            // a unix socket (else TCP)
  const uint32_t max_frame_size_;
  const size_t max_metadata_size_;
  // An eventfd that wakes the thread holding the reader role when another
  // thread ends a call it may be waiting for (Cancel).
  const Fd wake_fd_;

  // The channel's event loop; it watches this connection while it has
  // callback calls. The loop's notes, kept here so that most calls watch
  // and re-arm without its lock (ClientEventLoop::Watch(), Arm()): whether
  // it watches it, for how many calls, and what the connection's
  // edge-triggered registration is armed for (0: nothing yet).
  const std::shared_ptr<ClientEventLoop> loop_;
  std::atomic<bool> loop_watching_{false};
  std::atomic<int> loop_calls_{0};
  std::atomic<uint32_t> loop_armed_{0};
  // Frames the loop's reactions held (Open()'s `hold_for_loop`) wait for
  // the end of the loop's turn, not for EPOLLOUT: RearmLocked() does not
  // arm for them. Cleared by FlushForLoop().
  bool loop_flush_due_ ABSL_GUARDED_BY(mu_) = false;

  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Our preface, stream ids, held calls and the writes themselves (all but
  // has_held(), which any thread reads without a lock).
  OutgoingFrames out_ ABSL_GUARDED_BY(write_mu_);

  mutable Mutex mu_;
  // Calls in flight, by stream id.
  StreamTable<std::shared_ptr<ClientCallState>> streams_ ABSL_GUARDED_BY(mu_);
  bool reader_active_ ABSL_GUARDED_BY(mu_) = false;
  // The loop had an event while another thread held the reader role: that
  // thread has the loop's registration report what is left when it gives
  // the role up.
  bool loop_wants_read_ ABSL_GUARDED_BY(mu_) = false;
  // The loop reads this connection through its ring (ReceiveForLoop()):
  // its registration leaves input out. And whether the loop holds the
  // reader role in that wait now (a caller that comes to wait for the role
  // wakes it), and how many blocking callers wait (AwaitLocked()): while
  // any does, the loop refuses to sleep holding the role.
  bool loop_solo_ ABSL_GUARDED_BY(mu_) = false;
  bool loop_receiving_ ABSL_GUARDED_BY(mu_) = false;
  int blocking_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  // Set once the connection failed or was told to go away.
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  bool going_away_ ABSL_GUARDED_BY(mu_) = false;
  // broken_.ok() && !going_away_, readable without mu_ (every call asks).
  std::atomic<bool> usable_{true};
  std::atomic<bool> failed_by_own_call_{false};  // see failed_by_own_call()

  // Large buffers kept warm for encoding and reading (see BufferPool); a
  // connection that moves only small messages keeps none.
  BufferPool buffers_;
  // The reading half: used only by the thread holding the reader role.
  IncomingFrames in_;
  // The reader's io_uring, which waits and reads in one system call
  // (transport/receive_ring.h): made by the first wait (ring_tried_), null
  // where io_uring cannot be used or the connection accepts descriptors
  // (those come with recvmsg()); the reader's alone, like in_. Its
  // descriptor, for a forked child (-1: none).
  bool ring_tried_ = false;
  std::unique_ptr<ReceiveRing> ring_;
  std::atomic<int> ring_fd_for_fork_{-1};
  // How long the server may take to send its preface once somebody waits
  // for it (ChannelOptions::connect_timeout); when that time is up
  // (InfiniteFuture until the first PrefaceDeadline()); and whether it has
  // arrived (set once by the reader, read by anyone).
  const absl::Duration preface_timeout_;
  absl::Time preface_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::atomic<bool> preface_arrived_{false};
  // Keepalive (ChannelOptions): the times, and the reader's own state (like
  // in_): the bytes received when it last looked, when a PING is due if
  // nothing arrives, when the PING sent must have been answered
  // (InfiniteFuture: none is out), and when the last look asked for the
  // next (InfinitePast: none yet).
  const absl::Duration keepalive_time_;
  const absl::Duration keepalive_timeout_;
  struct Keepalive {
    uint64_t bytes_seen = 0;
    absl::Time ping_due = absl::InfiniteFuture();
    absl::Time answer_due = absl::InfiniteFuture();
    absl::Time look_again = absl::InfinitePast();
  };
  Keepalive keepalive_;
  // Whether the server's first frame has been read (the reader's alone):
  // only the first may be SETTINGS (PROTOCOL.md section 16.2).
  bool server_frame_seen_ = false;
  // The server's SETTINGS max_fds_per_message: 0 until its SETTINGS says
  // otherwise (set by the reader, read by writers), and whether its first
  // frame has come, so that it is final (PROTOCOL.md section 16.2).
  std::atomic<uint32_t> server_max_fds_{0};
  std::atomic<bool> server_settings_known_{false};
  // Callback calls waiting for the server's first frame (their streams are
  // alive: each is taken out as it ends), and whether a PING asked for it.
  std::vector<ClientCallState*> awaiting_settings_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> settings_asked_{false};
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CONNECTION_H_
