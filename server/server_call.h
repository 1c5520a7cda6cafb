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
// Callback methods (server/server_callback.h) run no handler for the
// call's life: StartCallback() runs the handler's start, which returns a
// reactor; the call then keeps the reactor's pending reads and writes and
// runs its reactions (server_call_reactor.cc; docs/ARCHITECTURE.md has the
// call's state diagram).
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
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "transport/message_queue.h"
#include "transport/sync.h"
#include "absl/time/time.h"
#include "server/method_handler.h"
#include "server/server_callback.h"
#include "server/server_context.h"
#include "server/server_stream.h"
#include "server/service.h"
#include "sockrpc/wire.pb.h"

namespace sockrpc {

class MethodStats;
class ServerConnection;

struct ServerCall;
using ReadyCalls = std::vector<ServerCall>;

class ServerCallState final
    : public ServerStream,
      public internal::ReactorCall,
      public internal::CallbackCall,
      public std::enable_shared_from_this<ServerCallState> {
 public:
  // `client_metadata`: the call's request metadata, from its HEADERS,
  // moved from (null: none, as for most calls). `stats`: its method's,
  // which count the call from `start_nanos` (the MonotonicNanos() of the
  // read that brought its HEADERS) on (null: stats are off).
  ServerCallState(std::shared_ptr<ServerConnection> connection,
                  uint32_t stream_id, const Service::Method* method,
                  Metadata* client_metadata, absl::Time deadline,
                  MethodStats* stats, int64_t start_nanos);
  ~ServerCallState() override;

  uint32_t stream_id() const { return stream_id_; }
  absl::Time deadline() const { return context_.deadline(); }
  bool is_unary() const { return method_->kind == RpcKind::kUnary; }
  bool is_callback() const { return method_->callback; }
  RpcKind kind() const { return method_->kind; }
  // "/package.Service/Method".
  const std::string& method_name() const { return method_->full_name; }
  // Whether the call starts once its request message is read, rather than
  // at its HEADERS (see Service::Method).
  bool starts_with_request() const { return method_->starts_with_request(); }
  ServerConnection& connection() const { return *connection_; }

  // Runs the interceptors and the handler on the calling thread, then
  // ends the call. `request` is the request's encoding (unary calls only).
  // For a callback method, the blocking form its handler asked for.
  void Run(absl::string_view request);

  // ---- Callback methods (server_call_reactor.cc) ----
  // Runs the interceptors and the handler's start on the calling server
  // thread, then the reactions that start made due. False if the handler
  // asked for its blocking form: Run() it then on a thread that may block.
  bool StartCallback(absl::string_view request);
  // Runs the reactions due, unless another thread is running them. The
  // call may end here (OnDone()).
  void RunReactions();
  // At shutdown, once no server thread runs: runs what reactions are left
  // and then OnDone(), even if the reactor never called Finish().
  void ForceDone();
  // The reactor CallbackServerContext::DefaultReactor() returns.
  ServerUnaryReactor* default_reactor();

  // internal::ReactorCall:
  void StartSendInitialMetadata() override;
  void StartRead(google::protobuf::MessageLite* message) override;
  void StartWrite(const google::protobuf::MessageLite& message,
                  WriteOptions options) override;
  void StartEncodedWrite(std::string frame, WriteOptions options) override;
  void Finish(absl::Status status) override;
  // internal::CallbackCall:
  CallbackServerContext* context() override { return &context_; }
  absl::string_view request() const override { return start_request_; }
  void Keep(std::unique_ptr<internal::CallMessages> messages) override {
    reply_ = messages->reply.get();
    messages_ = std::move(messages);
  }
  internal::CallMessages* kept() override { return messages_.get(); }
  // Every request message passes here once parsed: it takes its
  // descriptors (request_fds_) into the context, then the interceptors'
  // hooks run.
  absl::Status InterceptRequest(
      google::protobuf::MessageLite& request) override {
    if (ABSL_PREDICT_FALSE(!request_fds_.empty() ||
                           context_.fds_.received() > 0)) {
      absl::Status matched = TakeRequestFds(request);
      if (!matched.ok()) return matched;
    }
    if (ABSL_PREDICT_TRUE(interceptors_started() == 0)) return absl::OkStatus();
    return RunRequestHooks(request);
  }

  // ---- Called by the connection's reader ----
  // True the first time only: the call's handler may be started.
  bool MarkStarted() { return !started_.exchange(true); }
  // For a call that starts with its request, right after its HEADERS is
  // accepted: counts it among the runtime's calls in flight
  // (ServerRuntime::CallStarted()) while it waits for the request, so that
  // a graceful shutdown waits for a request still to come (PROTOCOL.md
  // section 9). MarkStarted() passes the count on to the started call,
  // which gives it back when it ends as every call does; a call destroyed
  // without having started gives it back then.
  void CountWhileAwaitingRequest();
  // Copies a unary call's `request` encoding into the call itself if it is
  // small enough (see ServerCall); false if it is not.
  bool KeepSmallRequest(absl::string_view request);
  const char* small_request() const { return small_request_; }
  // The descriptors that came with a unary (or callback server-streaming)
  // call's request, before the call is handed to a thread; counted against
  // the connection's max_fds_per_connection until the call ends.
  void SetRequestFds(std::vector<Fd> fds) {
    fds_counted_ += fds.size();
    request_fds_ = std::move(fds);
  }
  // A MESSAGE of a streaming call. False if it overflows the call's window
  // (the peer broke flow control). These three add the call to `ready`
  // (to RunReactions()) when they make reactions due.
  bool OnMessage(absl::string_view payload, std::vector<Fd> fds,
                 ReadyCalls* ready);
  void OnHalfClose(ReadyCalls* ready);
  void OnWindowUpdate(uint32_t increment, ReadyCalls* ready);

  // Ends the call early. With `send_status` the client is sent `why` (a
  // deadline, a shutdown); without, it is gone or cancelled and hears
  // nothing. Handlers see IsCancelled(); blocked reads and writes return.
  void Cancel(const absl::Status& why, bool send_status);

  bool IsCancelled() const;
  bool WaitForCancellation(absl::Time deadline) const;

  // ServerStream:
  bool Read(google::protobuf::MessageLite* message) override;
  using ServerStream::Write;
  bool Write(const google::protobuf::MessageLite& message,
             WriteOptions options) override;
  bool SendInitialMetadata() override;

 private:
  // The reactor of CallbackServerContext::DefaultReactor(): owned by the
  // call and bound to it from the start, it only finishes. A handler that
  // finishes it before it returns (most unary handlers) has ended the call
  // by then: StartCallback() finds OnDone() due and runs it at once. (Not
  // if another thread's Finish() is still ending the call: that call is
  // kept alive and registered, and OnDone() runs once it has ended.)
  class OwnedUnaryReactor final : public ServerUnaryReactor {
   public:
    explicit OwnedUnaryReactor(ServerCallState* call)
        : ServerUnaryReactor(call) {}
    void OnDone() override {}
  };

  // A reaction due to the reactor.
  enum class Reaction : uint8_t {
    kInitialMetadataDone,
    kReadDone,
    kWriteDone,
    kCancel,
  };
  struct DueReaction {
    Reaction reaction;
    bool ok;
    // kReadDone: the message read.
    google::protobuf::MessageLite* message = nullptr;
  };

  // Sends the final frames (initial metadata if still due, the reply of a
  // unary call if any, STATUS) unless the call already ended, and removes
  // the call from its connection. Returns the status the call ended with.
  absl::Status EndCall(const google::protobuf::MessageLite* unary_reply,
                       absl::Status status);
  // The call's last frames, for EndCall() (server_call_end.cc). The first
  // writes them to `out` (kSmallFinalFramesSize bytes) and returns their
  // size when they are a small reply and an OK; else it writes nothing and
  // returns 0, and the second appends them to `out` (with the descriptors
  // to pass at `fds_offset`, if any) and returns the status they carry.
  size_t PutSmallFinalFramesLocked(
      const google::protobuf::MessageLite* unary_reply,
      const absl::Status& status, char* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendFinalFramesLocked(
      const google::protobuf::MessageLite* unary_reply, absl::Status status,
      std::string* out, std::vector<Fd>* reply_fds, size_t* fds_offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs the interceptors' OnCallStart(); the first failure's status.
  absl::Status StartInterceptors();
  size_t interceptors_started() const {
    return interceptors_started_.load(std::memory_order_relaxed);
  }
  // Runs OnCallEnd() of the interceptors whose OnCallStart() ran (inline
  // when none did, as for most calls).
  void EndInterceptors(const absl::Status& status) {
    if (ABSL_PREDICT_FALSE(interceptors_started() > 0)) {
      EndStartedInterceptors(status);
    }
  }
  void EndStartedInterceptors(const absl::Status& status);
  // The interceptors' OnRequest() in order; the first failure's status.
  absl::Status RunRequestHooks(google::protobuf::MessageLite& request);
  // The interceptors' OnReply() in order; the first failure's status.
  absl::Status InterceptReply(const google::protobuf::MessageLite& reply) {
    if (ABSL_PREDICT_TRUE(interceptors_started() == 0)) return absl::OkStatus();
    return RunReplyHooks(reply);
  }
  absl::Status RunReplyHooks(const google::protobuf::MessageLite& reply);
  // For an ending call: applies a status Cancel() forced, if any (the
  // reply is then dropped).
  void SettleLocked(const google::protobuf::MessageLite** unary_reply,
                    absl::Status* status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For an ending call whose outcome is its handler's (not forced): the
  // reply's hooks, then the interceptors' OnStatus() in reverse order.
  void RunEndHooks(const google::protobuf::MessageLite** unary_reply,
                   absl::Status* status);
  // A hook failed a message the handler reads or writes: the call ends
  // with `status` (not OK), as when Cancel() forces one (OnStatus skipped).
  void EndForHook(absl::Status status);
  // How many bytes of window to give back after the handler or reactor
  // consumed `size` bytes of request messages (0: none yet).
  uint32_t ConsumeLocked(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // ---- Callback methods ----
  // Queues `reaction`; true if the caller must have the reactions run
  // (nobody runs or is about to run them).
  bool QueueReactionLocked(Reaction reaction, bool ok,
                           google::protobuf::MessageLite* message = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A write the reactor started, serialized after room for its header.
  void StartWriteFrame(std::string frame, std::vector<Fd> fds,
                       WriteOptions options);
  // The interceptors' OnReply on a reactor's write; if one refuses it,
  // ends the call (EndForHook()), fails the write and returns false.
  bool ReplyPassesHooks(const google::protobuf::MessageLite& message);
  // Makes OnDone() due once the reactor finished and the call ended; true
  // if the caller must have the reactions run.
  bool DoneDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ScheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Has the reactions run: by the caller's thread via `ready`, else by a
  // server thread (ServerRuntime::PostReactions()).
  void Schedule(ReadyCalls* ready);
  // Sends a write the reactor started (room for the header, then the
  // message's encoding), behind the hinted ones; with `hinted` (and no
  // descriptors), keeps it with them instead, below kMaxHintedBytes.
  void SendWriteLocked(std::string frame, std::vector<Fd> fds,
                       bool hinted = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends held writes the window now allows, and a Finish() that waited
  // for them; true if that Finish() is now due (*status).
  bool SendHeldWritesLocked(absl::Status* status, bool* schedule)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The reactor's Finish() ends the call with `status`.
  void EndReactorCall(absl::Status status);
  // Runs reactions until none is due; the caller set reacting_.
  void ReactLoop();
  // OnDone() of `reactor`, then the call's end in the runtime; `status`
  // is how the call ended. ReactLoop() calls it once done_ is set.
  void RunDone(internal::ServerReactorBase* reactor,
               const absl::Status& status);
  // A callback call that ended before its reactor started.
  void EndWithoutReactor(const absl::Status& status);
  void AppendInitialMetadataLocked(std::string* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // (Defined, and only used, in server_call.cc.)
  inline absl::Status RunHandler(absl::string_view request);
  size_t max_metadata_size() const;
  // Whether the handler's initial and trailing metadata may be sent.
  absl::Status ResponseMetadataStatus() const;

  // Matches the descriptors of the request just parsed (request_fds_)
  // with its fields and hands them to the context; INVALID_ARGUMENT for a
  // field naming none.
  absl::Status TakeRequestFds(const google::protobuf::MessageLite& request);
  // The descriptors the handler attached for the reply being sent (none
  // usually), if the client accepts them; else the FAILED_PRECONDITION to
  // end the call with.
  absl::Status TakeReplyFds(std::vector<Fd>* fds);
  // Appends the FDS frame of `count` descriptors; returns its offset.
  size_t AppendFdsFrame(std::string* out, size_t count) const;

  // Counts the call's end in its method's stats, once (the first of the
  // ways it ends: its STATUS, a silent cancel, its destruction).
  void CountEndLocked(absl::StatusCode code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ABSL_PREDICT_TRUE(stats_ == nullptr) || end_counted_) return;
    CountEnd(code);
  }
  void CountEnd(absl::StatusCode code) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool InboxEmptyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return inbox_ == nullptr || inbox_->empty();
  }

  // Requests up to this size are kept in the call's own allocation.
  static constexpr size_t kSmallRequestSize = 128;
  // A unary call's last frames up to this size are put together on the
  // stack (no buffer taken from the pool).
  static constexpr size_t kSmallFinalFramesSize = 512;
  // Replies written with the buffer hint leave once this many bytes of
  // their frames wait.
  static constexpr size_t kMaxHintedBytes = 64 * 1024;

  // The frames of replies written with the buffer hint and not sent yet,
  // taken out of the call (empty if none wait).
  std::string TakeHintedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends them, if any wait: before the handler blocks, so that a client
  // that waits for them before it sends or acknowledges more gets them.
  void SendHintedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps `frames` (the hinted ones taken out, and more) in the call.
  void HoldHintedLocked(std::string frames) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<ServerConnection> connection_;
  std::atomic<bool> started_{false};
  // Set by CountWhileAwaitingRequest(), before other threads see the call.
  bool counted_while_awaiting_ = false;
  const uint32_t stream_id_;
  // Written by the reader before the call is handed to a thread.
  char small_request_[kSmallRequestSize];
  // The descriptors of the request message being parsed, for
  // InterceptRequest(): set by the reader (unary), or by whoever takes the
  // message from inbox_; one read at a time.
  std::vector<Fd> request_fds_;
  // Descriptors this call received, given back to the connection's count
  // when it ends (atomic: the reader adds, the last owner reads).
  std::atomic<size_t> fds_counted_{0};
  const Service::Method* const method_;  // owned by a Service
  MethodStats* const stats_;             // owned by the runtime's stats
  int64_t stats_start_ = 0;  // MonotonicNanos() at the start, with stats
  CallbackServerContext context_;
  // Of the interceptors, how many ran OnCallStart(), and when.
  // Atomic: set by the thread that starts the call, read by any that ends
  // it (a deadline, a cancel).
  std::atomic<size_t> interceptors_started_{0};
  absl::Time start_time_;

  // ---- Callback methods; set on the starting thread ----
  // The request's encoding while the handler's start runs.
  absl::string_view start_request_;
  // The call's messages, given back to the method's pool
  // (ReleaseMessages()) once it is done, where another call may take them
  // at once; and their reply, what Finish() sends: a pointer of its own,
  // never written after Keep(). It is read only by EndReactorCall(), and
  // OnDone() (after which the messages go back) waits for that to end
  // (reactor_ending_, DoneDueLocked()): never dereferenced after OnDone().
  std::unique_ptr<internal::CallMessages> messages_;
  const google::protobuf::MessageLite* reply_ = nullptr;
  // The call itself, from the reactor's start until OnDone(); null for a
  // call done at its start (StartCallback()), whose caller holds it.
  std::shared_ptr<ServerCallState> keep_alive_;

  mutable Mutex mu_;
  // Request messages received and not yet read (streaming calls); made
  // by the first one, so that other calls (an open server stream, say)
  // carry no queue.
  std::unique_ptr<MessageQueue> inbox_ ABSL_GUARDED_BY(mu_);
  int64_t inbox_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes of MESSAGE payload we may still send before the client's next
  // WINDOW_UPDATE (may go negative by one message).
  int64_t send_window_ ABSL_GUARDED_BY(mu_);
  // Bytes read by the handler and not yet acknowledged to the client.
  uint32_t unacknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  // The frames of the replies written with the buffer hint (a blocking
  // Write() or a reactor's StartWrite()) and not sent yet, in order (made
  // by the first such reply; null or empty: none wait). They leave before
  // anything else the call sends.
  std::unique_ptr<std::string> hinted_ ABSL_GUARDED_BY(mu_);
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the call is over for the client (cancel, deadline, gone).
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the STATUS went out, or the call ended without one.
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool initial_metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  // Whether CountEnd() ran. Guarded by mu_, except in the destructor (the
  // last owner, after every other thread let go).
  bool end_counted_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status cancel_reason_ ABSL_GUARDED_BY(mu_);
  // The status the call must end with, whoever finishes it (set by a
  // Cancel() that tells the client).
  std::optional<absl::Status> forced_status_ ABSL_GUARDED_BY(mu_);

  // ---- Callback methods ----
  internal::ServerReactorBase* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  // (Made in place: no allocation per call.)
  std::optional<OwnedUnaryReactor> default_reactor_ ABSL_GUARDED_BY(mu_);
  // The message of a StartRead() waiting for the client.
  google::protobuf::MessageLite* read_target_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Writes waiting for the client's window, oldest first, each with the
  // descriptors it carries.
  struct HeldWrite {
    std::string frame;
    std::vector<Fd> fds;
  };
  std::vector<HeldWrite> held_writes_ ABSL_GUARDED_BY(mu_);
  // A Finish() waiting for held writes.
  std::optional<absl::Status> held_finish_ ABSL_GUARDED_BY(mu_);
  absl::InlinedVector<DueReaction, 2> reactions_ ABSL_GUARDED_BY(mu_);
  bool reactor_finished_ ABSL_GUARDED_BY(mu_) = false;
  // Between a Finish() taking effect and its EndReactorCall() returning:
  // OnDone() is not due meanwhile, whoever else ends the call, so that the
  // thread that finished (a reactor's own thread, say) never touches a
  // call already done and freed.
  bool reactor_ending_ ABSL_GUARDED_BY(mu_) = false;
  // A thread runs the reactions (from the start on: the starting thread),
  // or the call is posted to have them run. Stays set once the call is
  // done (done_): nothing runs or is scheduled after OnDone().
  bool reacting_ ABSL_GUARDED_BY(mu_) = true;
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_due_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// ServerCall is the work item for a thread: run `state`'s handler, or
// (`reactions`) its reactor's reactions.
struct ServerCall {
  std::shared_ptr<ServerCallState> state;
  bool reactions = false;
  // Unary calls: the request's encoding is request_size bytes, kept in
  // the state (KeepSmallRequest) while request_buffer is empty, else at
  // request_offset in request_buffer (see FrameReader::DetachPayload).
  std::string request_buffer;
  size_t request_offset = 0;
  size_t request_size = 0;
  absl::string_view request() const {
    if (request_buffer.empty()) {
      return absl::string_view(state->small_request(), request_size);
    }
    return absl::string_view(request_buffer.data() + request_offset,
                             request_size);
  }
  // Runs the call on this thread, then recycles request_buffer.
  void Run();
  // Runs what of the call never blocks: its reactions, or a callback
  // method's start. False if the call's handler must run (Run()).
  bool RunWithoutBlocking() {
    if (ABSL_PREDICT_TRUE(!reactions && !state->is_callback())) return false;
    return RunReactionsOrStart();
  }

 private:
  bool RunReactionsOrStart();
};

// ReadyCalls (declared above): the calls one connection event made ready
// to run. Each thread that leads keeps one from event to event (emptied,
// its capacity kept), so that neither a lone call nor a batch of calls
// read at once allocates once warm.

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CALL_H_
