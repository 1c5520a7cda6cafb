// ServerConnection: the server's end of one accepted socket (a ByteStream:
// a SocketStream, or a test's stand-in). Internal to the server runtime.
//
// It checks the client's preface, cuts the byte stream into frames, keeps
// the table of its calls in flight (ServerCallState), hands each call that
// can start to a thread (ServerCall), and writes replies, buffering what
// the socket does not take at once until EPOLLOUT says it can.
//
// Threading: the connection is registered level-triggered with the
// runtime's epoll instance once, for its whole life (no re-arm per event;
// only going solo and back changes what is watched). One thread at a time
// polls and reads, the runtime's leader; read_mu_ guards the reader's
// state against the threads that look at it otherwise. While it is solo
// (SetSolo()), the leader reads it through its own ReceiveRing, and epoll
// reports it only for EPOLLOUT (while output waits), EPOLLHUP and EPOLLERR
// (server_threads.cc). Send() may be called from any thread. The
// runtime's connection table owns the connection; calls in flight share
// ownership so a reply can still be written (or dropped) safely after the
// connection has been closed.
#ifndef SOCKRPC_SERVER_SERVER_CONNECTION_H_
#define SOCKRPC_SERVER_SERVER_CONNECTION_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/interceptor.h"
#include "server/server_call.h"
#include "server/server_stats.h"
#include "server/service.h"
#include "sockrpc/wire.pb.h"
#include "transport/byte_stream.h"
#include "transport/fd_passing.h"
#include "transport/frame_reader.h"
#include "transport/receive_ring.h"
#include "transport/socket.h"
#include "transport/stream_table.h"
#include "transport/sync.h"

namespace sockrpc {

class ServerRuntime;

// A method as the runtime registered it (ServerRuntime::FindMethod): its
// handler and, with stats on, its counters. Stays put while the server
// runs.
struct RegisteredMethod {
  const Service::Method* method = nullptr;
  MethodStats* stats = nullptr;
};

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  // `runtime` must outlive the connection.
  // `credentials`: the peer's, for unix sockets. An unauthorized peer's
  // calls all end with PERMISSION_DENIED.
  ServerConnection(ServerRuntime* runtime, uint64_t tag,
                   std::unique_ptr<ByteStream> stream, std::string peer,
                   std::optional<PeerCredentials> credentials, bool authorized,
                   absl::Time handshake_deadline);
  ~ServerConnection();

  ServerRuntime& runtime() const { return *runtime_; }
  uint64_t tag() const { return tag_; }
  // The stream's descriptor for epoll; -1 if the stream has none (its
  // events come from ServerRuntime::DeliverInline()).
  int fd() const { return stream_->fd(); }
  const std::string& peer() const { return peer_; }
  const std::optional<PeerCredentials>& peer_credentials() const {
    return credentials_;
  }
  // The TLS peer (the stream's, once the preface is in); nullptr without
  // TLS. Read by calls, which the preface precedes.
  const TlsPeer* tls_peer() const { return tls_peer_; }
  // Bytes read from and written to the peer so far; any thread.
  uint64_t bytes_received() const { return bytes_received_.Get(); }
  uint64_t bytes_sent() const { return bytes_sent_.Get(); }
  // What the stats service lists of this connection; any thread.
  ConnectionSnapshot Snapshot() const;
  // The runtime's max_frame_size, inline: asked by every call.
  uint32_t max_frame_size() const { return max_frame_size_; }
  size_t max_metadata_size() const;
  const std::vector<ServerInterceptor*>& interceptors() const;
  // !interceptors().empty(), inline: asked by every call.
  bool has_interceptors() const { return has_interceptors_; }

  // Handles the epoll `events` of this connection. Appends the calls that
  // became ready to `ready` (the caller runs them). Returns false when the
  // connection is finished and must be closed.
  bool OnEvent(const std::shared_ptr<ServerConnection>& self, uint32_t events,
               ReadyCalls* ready);
  // Handles what the leader's ring received from this solo connection
  // into `scratch` (then reads on, if the socket may hold more), as
  // OnEvent() does a read.
  bool OnReceived(const std::shared_ptr<ServerConnection>& self,
                  const ReceiveRing::Received& received,
                  absl::Span<char> scratch, ReadyCalls* ready);

  // Going solo (server_threads.cc): whether the leader may wait for this
  // connection's bytes in its ring (a socket without descriptor passing,
  // past its preface, no bytes of a frame kept); and taking it out of
  // epoll's EPOLLIN watch for that, or putting it back. The leader only.
  bool CanGoSolo() const;
  void SetSolo(bool solo);
  // Set once ServerRuntime::CloseConnection() has begun; any thread.
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // Sets closed(); false if it was set already.
  bool MarkClosed() { return !closed_.exchange(true); }

  // An empty buffer to encode frames into for Send(): a warm one from the
  // runtime's pool when there is one, so large replies cost no fresh
  // memory.
  std::string TakeBuffer();
  // Sends `frames` (whole frames) to the peer, or queues what the socket
  // does not take at once; thread-safe. Takes the buffer: it becomes the
  // pending output, or goes back to the pool.
  void Send(std::string frames);
  // The same for frames the caller keeps (on its stack): written from
  // there when nothing waits or is held; copied into a pooled buffer only
  // for what must wait.
  void SendCopy(absl::string_view frames);
  // Gives a buffer that is no longer needed back to the pool.
  void GiveBuffer(std::string buffer);

  // Corking: between Cork() and the matching Uncork(), Send() only queues,
  // and Uncork() writes what was queued at once (one write for the replies
  // of a batch of calls). BreakCork() ends the holding back early (the
  // watchdog uses it when the thread running the batch blocks); it lasts
  // until the last Uncork(). Calls nest.
  // These, and the output batches below, live in output_batch.cc.
  void Cork();
  void Uncork();
  void BreakCork();

  // Writes what was held for the thread's OutputBatch (output_batch.h),
  // unless a cork still holds it. For OutputBatch, once per Enlist().
  void EndBatch();

  // Send() of `frames` whose bytes from `fds_offset` on (an FDS frame)
  // carry `fds`: they leave with the write that begins there.
  void SendWithFds(std::string frames, size_t fds_offset, std::vector<Fd> fds);
  // FinishCall() whose final frames carry `fds` so (a unary reply's).
  void FinishCallWithFds(uint32_t stream_id, std::string final_frames,
                         size_t fds_offset, std::vector<Fd> fds);
  // The most descriptors the client accepts with one message (its
  // SETTINGS; 0: none).
  uint32_t client_max_fds() const {
    return client_max_fds_.load(std::memory_order_relaxed);
  }
  // A call that ends gives back the `count` descriptors it received
  // (see max_fds_per_connection).
  void ReleaseFds(size_t count) { fds_held_.fetch_sub(count); }
  // Sends a STATUS frame ending `stream_id` with `status`.
  void SendStatus(uint32_t stream_id, const absl::Status& status);
  // Ends a call refused before it reached a method with `why` (counted in
  // the stats, if on).
  void RefuseCall(uint32_t stream_id, const absl::Status& why);
  // Gives the client `increment` bytes of window on `stream_id`.
  void SendWindowUpdate(uint32_t stream_id, uint32_t increment);

  // Forgets a call that has ended (and its deadline timer).
  void RemoveCall(uint32_t stream_id);
  // Sends a call's last frames (`final_frames`, ending with its STATUS) and
  // forgets the call, as one step for the reader: a peer that has read the
  // status may open its next call at once, and finds the call's slot free
  // (max_calls_per_connection), whichever thread reads it.
  void FinishCall(uint32_t stream_id, std::string final_frames);
  void FinishCall(uint32_t stream_id, absl::string_view final_frames);
  // Ends every call in flight (see ServerCallState::Cancel).
  void CancelAllCalls(const absl::Status& why, bool send_status);

  // Tells the client that no new calls will be served (GOAWAY with the last
  // stream id seen). Calls already read still complete.
  void SendGoAway(const absl::Status& why);

  // Stops all I/O on the socket now (the peer sees the connection close).
  void Shutdown();

  // Logs how many refusals of calls on this connection went unlogged (see
  // Refused()), if any: one line, when the connection closes.
  void LogUnloggedRefusals();

  // When housekeeping should next look at the connection, and whether it
  // closes it then (`closes`, `why` says why); and whether a keepalive
  // PING is due now (`pings`: SendKeepalivePing()). The earliest of: the
  // handshake deadline while the preface is due; with the options'
  // idle_timeout, the last activity plus the timeout (a connection with
  // calls in flight is only looked at again, not closed); with their
  // keepalive_time, when nothing received for that long makes a PING due,
  // or a PING due now (its answer looked for keepalive_timeout later), or
  // when a PING sent went unanswered for keepalive_timeout (closes).
  // Never, with none of these. (server_connection_keepalive.cc)
  struct Expiry {
    absl::Time at = absl::InfiniteFuture();
    bool closes = false;
    bool pings = false;
    std::string why;
  };
  Expiry NextExpiry(absl::Time now) const;
  // Sends the keepalive PING NextExpiry() asked for; the client must send
  // something (its ACK, at least) within keepalive_timeout.
  void SendKeepalivePing();

 private:
  // Reads what the socket holds, through `scratch`, and processes it;
  // `received`, if not null, is a first read already made into `scratch`
  // (OnReceived()). Returns false to close.
  bool ReadAndProcess(const std::shared_ptr<ServerConnection>& self,
                      ReadyCalls* ready, absl::Span<char> scratch,
                      const ReceiveRing::Received* received)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // A read the ring made into `scratch` (OnReceived()), as one into
  // `*space`, the reader's space for the next read: `scratch` itself
  // unless the reader keeps part of a frame, whose buffer then takes the
  // bytes (and `*space` becomes that buffer's space).
  absl::StatusOr<ssize_t> TakeReceived(const ReceiveRing::Received& received,
                                       absl::Span<char> scratch,
                                       absl::Span<char>* space)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool ProcessFrames(const std::shared_ptr<ServerConnection>& self,
                     ReadyCalls* ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool HandleFrame(const std::shared_ptr<ServerConnection>& self,
                   const FrameReader::Frame& frame, ReadyCalls* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool HandleHeaders(const std::shared_ptr<ServerConnection>& self,
                     const FrameReader::Frame& frame, ReadyCalls* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool HandleMessage(const FrameReader::Frame& frame, ReadyCalls* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // The request `frame` of `call`, one that starts with its request: the
  // call is ready to run (unless it started already), with `fds`.
  void StartWithRequest(std::shared_ptr<ServerCallState> call,
                        const FrameReader::Frame& frame, std::vector<Fd> fds,
                        ReadyCalls* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // The method `full_name` names (last_method_ first), or null.
  const RegisteredMethod* FindMethodCached(absl::string_view full_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  std::shared_ptr<ServerCallState> FindCall(uint32_t stream_id);
  // "uid U gid G (pid P)" or "PEER (no credentials)", for messages.
  std::string DescribeCredentials() const;
  // SendGoAway() with read_mu_ held.
  void SendGoAwayLocked(const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Logs `why`, sends GOAWAY(INTERNAL) and returns false (close).
  bool ProtocolError(const absl::Status& why);
  // A PING from the client: answered, unless it is one too many
  // (ServerOptions::min_time_between_pings); false to close.
  bool HandlePing(const FrameReader::Frame& frame)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // The client opened or fed a call: its next PING is not a strike.
  void NoteCallFrame() ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_) {
    last_ping_nanos_ = 0;
    ping_strikes_ = 0;
  }
  // The keepalive part of NextExpiry(), which it adds to `expiry`.
  void KeepaliveExpiry(absl::Time now, Expiry* expiry) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Why the server refuses a call while the connection goes on.
  enum class Refusal {
    kNotAllowed,        // the peer's credentials are not allowed
    kTooManyCalls,      // max_calls_per_connection
    kMetadataTooLarge,  // max_metadata_size
    kFrameTooLarge,     // max_frame_size
  };
  static constexpr int kRefusalKinds = 4;
  // Counts a refusal and logs `line` if it is the first of its kind on this
  // connection: a peer that repeats a refused call (a pipelining client
  // over its limit) cannot flood the log; the rest are summed up at close.
  void LogRefusal(Refusal why, absl::string_view line)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Held output is written once this much waits (corks and batches).
  static constexpr size_t kMaxHeldBytes = 64 * 1024;

  // If the calling thread has an OutputBatch that holds this write (all
  // but the first it lets through, and that one too if output waits here
  // already): queues `*frames` for it and enlists this connection (once
  // per batch); true. Else false.
  bool HoldForBatchLocked(std::string* frames)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void FlushOutput();
  // Writes what pending output the socket takes.
  void FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Adds `frames` to the pending output (or cuts off a client that lets
  // too much pile up; see ServerOptions::max_write_buffer).
  void QueueLocked(std::string frames) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Send() with write_mu_ held.
  void SendLocked(std::string frames) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Empties the pending output and gives its buffer back to the pool.
  void ReleaseOutputLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Watches EPOLLOUT exactly while output waits (level-triggered, it would
  // fire for ever otherwise).
  void WatchWritableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Tells epoll what to watch now: EPOLLIN unless solo, EPOLLOUT while
  // output waits.
  void UpdateWatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Cancels the deadline timer of a call taken out of calls_ (if any).
  void ForgetDeadline(const ServerCallState* call);
  // Removes `stream_id` from calls_ and returns it (null if not there).
  std::shared_ptr<ServerCallState> TakeCallLocked(uint32_t stream_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(calls_mu_);

  // ---- File descriptors (server_connection_fds.cc) ----
  // Appends our SETTINGS after our preface, if this connection accepts
  // descriptors.
  void AppendSettings(std::string* out) const;
  // A read that brought bytes [bytes_received_, + n) and `*fds` (taken).
  void NoteRead(size_t n, std::vector<Fd>* fds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // After a run of frames up to the next unread byte: descriptors no FDS
  // frame took are a protocol error (false: the connection closes).
  bool CheckFdsClaimed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool HandleSettings(const FrameReader::Frame& frame, bool first_frame)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  bool HandleFds(const FrameReader::Frame& frame)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // The frame after an FDS frame must be its MESSAGE; false (a protocol
  // error, the connection closes) if `header` is not.
  bool CheckFdsFollowed(const FrameHeader& header)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // The descriptors of the MESSAGE being handled (none usually). Sets
  // *over_limit if they were dropped for max_fds_per_connection.
  std::vector<Fd> TakeMessageFds(bool* over_limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);

  ServerRuntime* const runtime_;
  const uint64_t tag_;
  const std::unique_ptr<ByteStream> stream_;
  const std::string peer_;
  const std::optional<PeerCredentials> credentials_;
  const bool authorized_;
  const absl::Time handshake_deadline_;
  const absl::Time connected_at_;

  mutable Mutex read_mu_;
  FrameReader reader_ ABSL_GUARDED_BY(read_mu_);
  bool preface_received_ ABSL_GUARDED_BY(read_mu_) = false;
  // Set with preface_received_, before any call (see tls_peer()).
  const TlsPeer* tls_peer_ = nullptr;
  // Whether our preface went out: once the client's arrived, or before a
  // GOAWAY sent earlier (nothing may precede it on the wire).
  bool preface_sent_ ABSL_GUARDED_BY(read_mu_) = false;
  // When bytes last arrived (MonotonicNanos(): for the idle timeout, and
  // the start of the calls they opened in their method's stats). A
  // monotonic clock costs half of absl::Now() on every read.
  int64_t last_read_nanos_ ABSL_GUARDED_BY(read_mu_);
  // When a frame other than a PING's answer last arrived (idle_timeout:
  // the answers to our keepalive PINGs do not keep a connection open).
  int64_t last_activity_nanos_ ABSL_GUARDED_BY(read_mu_);
  // Keepalive: when our PING went out (MonotonicNanos(); 0: none is
  // outstanding, or a read since answered it).
  int64_t keepalive_ping_nanos_ ABSL_GUARDED_BY(read_mu_) = 0;
  // PING enforcement: when the client's last PING came with no call frame
  // since (0: a call frame came after it, or none yet), and the strikes.
  int64_t last_ping_nanos_ ABSL_GUARDED_BY(read_mu_) = 0;
  int ping_strikes_ ABSL_GUARDED_BY(read_mu_) = 0;
  // Refusals so far, by Refusal.
  std::array<uint64_t, kRefusalKinds> refusals_ ABSL_GUARDED_BY(read_mu_) = {};
  // Highest stream id opened by the client; new ones must be higher.
  uint32_t last_stream_id_ ABSL_GUARDED_BY(read_mu_) = 0;
  // Whether the client's first frame has been read: only the first may be
  // SETTINGS (PROTOCOL.md section 16.2).
  bool client_frame_seen_ ABSL_GUARDED_BY(read_mu_) = false;
  // The client's SETTINGS max_fds_per_message: descriptors it accepts with
  // one message (0: none, also without SETTINGS).
  std::atomic<uint32_t> client_max_fds_{0};
  // Descriptors (docs/PROTOCOL.md section 16): whether this connection
  // accepts them (a unix socket, ServerOptions::max_fds_per_message > 0);
  // bytes received so far and where the frame being handled began, which
  // tie descriptors to their FDS frame; descriptors received and not yet
  // taken by an FDS frame; those of the FDS frame whose MESSAGE comes next
  // (fds_stream_ != 0), or whether they were over the connection's limit.
  const bool accepts_fds_;
  const uint32_t max_frame_size_;
  const bool has_interceptors_;  // see has_interceptors()
  // (Added to under read_mu_; bytes_sent_ under write_mu_.)
  SingleWriterCounter bytes_received_;
  uint64_t frame_begin_ ABSL_GUARDED_BY(read_mu_) = 0;
  ReceivedFds received_fds_ ABSL_GUARDED_BY(read_mu_);
  uint32_t fds_stream_ ABSL_GUARDED_BY(read_mu_) = 0;
  std::vector<Fd> fds_for_message_ ABSL_GUARDED_BY(read_mu_);
  bool fds_over_limit_ ABSL_GUARDED_BY(read_mu_) = false;
  // Descriptors held by this connection's calls in flight (their requests'
  // descriptors, until each call ends), against max_fds_per_connection.
  std::atomic<size_t> fds_held_{0};
  SingleWriterCounter bytes_sent_;
  // The HEADERS of the call being opened, parsed: made at the first call
  // (a connection that never calls holds none), then kept so that its
  // strings keep their memory from call to call.
  std::unique_ptr<wire::CallHeader> call_header_ ABSL_GUARDED_BY(read_mu_);
  // The method the last call on this connection named: a client usually
  // calls one method again and again, and a name compared costs less than
  // one hashed. Registered methods stay put while the server runs.
  // The call the last HEADERS of this read opened, while its request may
  // follow in the same read (reset when the read's frames are done): its
  // MESSAGE finds it without a lookup in calls_.
  std::shared_ptr<ServerCallState> just_opened_ ABSL_GUARDED_BY(read_mu_);
  const RegisteredMethod* last_method_ ABSL_GUARDED_BY(read_mu_) = nullptr;

  mutable Mutex calls_mu_ ABSL_ACQUIRED_AFTER(read_mu_);
  // Calls in flight, from HEADERS to their end.
  StreamTable<std::shared_ptr<ServerCallState>> calls_
      ABSL_GUARDED_BY(calls_mu_);

  Mutex write_mu_ ABSL_ACQUIRED_AFTER(calls_mu_);
  // Bytes the socket did not take yet, from pending_offset_ on; flushed on
  // EPOLLOUT.
  std::string pending_output_ ABSL_GUARDED_BY(write_mu_);
  size_t pending_offset_ ABSL_GUARDED_BY(write_mu_) = 0;
  int corks_ ABSL_GUARDED_BY(write_mu_) = 0;
  bool cork_broken_ ABSL_GUARDED_BY(write_mu_) = false;
  // Enlisted in some thread's OutputBatch, which will write what is held.
  bool in_batch_ ABSL_GUARDED_BY(write_mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(write_mu_) = false;
  // Whether the registration includes EPOLLOUT; whether it leaves out
  // EPOLLIN (solo: the leader's ring reads).
  bool watching_writable_ ABSL_GUARDED_BY(write_mu_) = false;
  bool solo_ ABSL_GUARDED_BY(write_mu_) = false;
  std::atomic<bool> closed_{false};
  // Descriptors to pass with the pending output, each at the offset in
  // pending_output_ of the FDS frame whose write carries them; in order.
  // A vector, not a std::deque: an empty deque allocates ~1 KiB, and
  // every connection has this (idle connections must stay small).
  struct PendingFds {
    size_t offset;
    std::vector<Fd> fds;
  };
  std::vector<PendingFds> pending_fds_ ABSL_GUARDED_BY(write_mu_);
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CONNECTION_H_
