// ClientCallbackCall: the runtime's side of one call of the callback API
// (client/client_callback.h), or of a UnaryFuture handed to the event loop
// by Then(). Internal to the client.
//
// Made on the application's thread (Channel::BindReactor(),
// Channel::CallbackUnaryCall(), ClientCall::WhenDone()) and owned from
// then on by the channel's ClientEventLoop, which deletes it after
// OnDone(). Operations come from any thread: they record what was asked
// under mu_ and schedule the call on the loop. Only the loop thread
// advances the call (Advance()): it does the non-blocking work each
// operation needs (a write into the socket or the connection's held
// output, a message taken from the stream's inbox) and runs the reactions
// that became due, one at a time, with no lock held.
#ifndef SOCKRPC_CLIENT_CLIENT_CALLBACK_CALL_H_
#define SOCKRPC_CLIENT_CLIENT_CALLBACK_CALL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/client_call_state.h"
#include "client/client_callback.h"
#include "client/client_context.h"
#include "client/interceptor.h"
#include "google/protobuf/message_lite.h"
#include "transport/fd.h"
#include "transport/sync.h"

namespace sockrpc {

class Channel;
class ClientConnection;
class ClientEventLoop;
class ClientCallState;

namespace internal {

class ClientCallbackCall {
 public:
  // A call of `method` bound to `reactor`, not started yet; or, with a
  // null `reactor`, a unary call whose `unary_done` runs with its status
  // once it has ended (Channel::CallbackUnaryCall(): no reaction but that
  // one). `request` (unary and server streaming; else null) goes out with
  // the call's first frames and must stay alive until Start(); `reply`
  // (unary and client streaming; else null) receives the one reply.
  // `context` may be null. `channel` opens the call in Start().
  // `loop_failure`: the loop could not start; Start() then ends the call
  // with it, on its own thread.
  ClientCallbackCall(Channel* channel, ClientEventLoop* loop,
                     ClientContext* context, absl::string_view method,
                     const google::protobuf::MessageLite* request,
                     google::protobuf::MessageLite* reply,
                     uint32_t max_frame_size, ClientReactorBase* reactor,
                     std::function<void(absl::Status)> unary_done,
                     absl::Status loop_failure);
  // A call already in flight on `stream` (a UnaryFuture's): `on_done` runs
  // on the loop once the call has ended. Advances nothing until Attach().
  ClientCallbackCall(ClientEventLoop* loop,
                     std::shared_ptr<ClientCallState> stream,
                     absl::AnyInvocable<void()> on_done);
  ~ClientCallbackCall();
  ClientCallbackCall(const ClientCallbackCall&) = delete;
  ClientCallbackCall& operator=(const ClientCallbackCall&) = delete;

  // ---- Operations: any thread ----
  void Start();
  void StartRead(google::protobuf::MessageLite* message);
  void StartWrite(const google::protobuf::MessageLite& message);
  void StartWritesDone();
  void AddHold();
  void RemoveHold();
  // For the second constructor, once the loop adopted the call: attaches
  // it to its stream, so that the connection schedules it at each change,
  // and has the loop watch the connection. The call may then advance.
  void Attach();
  // For a call no loop took: advances it on this thread until it is over,
  // which its stream must be, and deletes it.
  void EndHere();

  // ---- The loop thread only ----
  // Does what is due and runs the reactions it makes due. True once
  // OnDone() (or on_done) has run: the call is over and may be deleted.
  bool Advance();
  // The channel is going away: the call ends with CANCELLED (a call not
  // started yet, at once, without being sent). Once per call.
  void Abandon();
  // When the call's timer is due, if it has one and it is not set yet:
  // true once, when the call is open (again after an Expire() that was
  // early). The call's deadline, or sooner the server's preface's
  // (ClientConnection::PrefaceDeadline()) while it has not arrived.
  bool TakeDeadline(absl::Time* deadline);
  // The timer is due: fails the connection if the server's preface is
  // late, ends the call with DEADLINE_EXCEEDED if its deadline passed, or
  // else (the preface came in time) has its timer set again.
  void Expire();

  // The loop's bookkeeping, guarded by the loop's mutex.
  bool adopted = false;    // the loop took it: Schedule() may list it
  bool scheduled = false;  // in the loop's ready list (ready_)
  bool retired = false;    // over; delete when taken from its lists
  bool in_batch = false;   // RunScheduled() listed it (on both lists)
  // Loop thread only.
  bool scheduled_here = false;  // in the loop thread's own list
  bool swept = false;           // Abandon() called
  bool has_timer = false;
  std::multimap<absl::Time, ClientCallbackCall*>::iterator timer;

 private:
  // A reaction made due by Next(), to run with no lock held.
  struct Reaction {
    enum class Kind {
      kNone,
      kInitialMetadata,
      kWrite,
      kWritesDone,
      kRead,
      kDone
    } kind = Kind::kNone;
    bool ok = false;
    absl::Status status;  // kDone
    google::protobuf::MessageLite* message = nullptr;  // kRead, if ok
  };
  // One StartWrite(): its frame (stream id patched in when it goes out),
  // or why it could not be encoded.
  struct Write {
    std::string frame;
    absl::Status encoded;
    // The descriptors the context had attached, if any: `frame` then
    // begins with their FDS frame, and its MESSAGE is at message_offset.
    std::vector<Fd> fds;
    size_t message_offset = 0;
    bool after_writes_done = false;  // refused: OnWriteDone(false)
    // A write started before StartCall() opened the call, when its
    // interceptors were not known yet: a copy, hooked and encoded when its
    // turn comes.
    std::unique_ptr<google::protobuf::MessageLite> unhooked;
  };
  // Runs the interceptors' OnRequest on `message`, then encodes it into
  // `*write` (`encoded` says why not).
  void EncodeWrite(const google::protobuf::MessageLite& message, Write* write);

  // Does the next piece of due work and returns its reaction (kNone when
  // nothing is due).
  Reaction Next() ABSL_LOCKS_EXCLUDED(mu_);
  // The outcome the application sees: the stream's status, or INTERNAL for
  // a call that expected a reply and got none.
  absl::Status FinalStatus(const absl::Status& stream_status, bool got_reply);
  // For kRead: the interceptors' OnReply on the message read; a failure
  // cancels the call with its status and fails the read.
  bool InterceptRead(google::protobuf::MessageLite& message)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Runs the interceptors' OnReply on a unary reply (a failure replaces
  // `*status`), OnStatus, then OnCallEnd.
  void EndInterceptors(absl::Status* status);
  // Fails the call on the client's side (a request that cannot be sent, a
  // hook that refused a message): cancels the stream, and `why` is the
  // call's status whatever the server sent.
  void FailLocked(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cancels the stream with `why` (Cancel() takes only the connection's
  // locks, which come after mu_).
  void CancelStream(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Has the loop watch the connection of stream_, if it has one, until the
  // call is deleted, and re-arms it. Once, before the call is open.
  void WatchConnection() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For Start(), once the stream is open: true if nothing is due until the
  // connection schedules the call, so that Start() need not schedule it.
  bool WaitsOnlyForItsEnd() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  friend class ::sockrpc::Channel;  // Open() fills in the interceptors

  // Method names this long or shorter are kept in the call itself.
  static constexpr size_t kInlineMethodSize = 64;

  ClientEventLoop* const loop_;
  // Null for a call that reports only its end: a unary call's `unary_done`
  // or a future's `on_done` (Next() makes no other reaction for it).
  ClientReactorBase* const reactor_;
  std::function<void(absl::Status)> unary_done_;
  absl::AnyInvocable<void()> on_done_;            // a future's continuation
  ClientContext* context_;                        // may be null
  std::unique_ptr<ClientContext> owned_context_;  // for interceptors
  // The method's name, in the call (most names fit: no allocation for it);
  // method_ views it.
  const absl::InlinedVector<char, kInlineMethodSize> method_storage_;
  const absl::string_view method_;
  const google::protobuf::MessageLite* const request_;
  google::protobuf::MessageLite* const reply_;
  const uint32_t max_frame_size_;
  // Set before the call is shared (by BindReactor() if the loop refused
  // it); read-only afterwards.
  absl::Status loop_failure_;
  // Interceptors whose OnCallStart ran, and when (for OnCallEnd).
  std::vector<ClientInterceptor*> interceptors_;
  absl::Time start_time_ = absl::InfinitePast();

  // Taken before the connection's locks (an operation may write under it).
  Mutex mu_;
  // Null once the channel is going away.
  Channel* channel_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // The stream is set and may be advanced. stream_ is immutable then.
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  // Set once Start() has opened the stream and interceptors_ is final.
  std::atomic<bool> interceptors_known_{false};
  // The first failure on the client's side (see FailLocked()).
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;
  // The stream of a call without a context, made here by
  // Channel::OpenCall(): stream_ then owns nothing (see there). Set before
  // the stream is shared; the call outlives every use of it, as it is
  // deleted only once its stream is done and out of its connection's table,
  // and no thread but the loop's uses a copy of stream_ once mu_ is released.
  std::optional<ClientCallState> own_stream_;
  std::shared_ptr<ClientCallState> stream_ ABSL_GUARDED_BY(mu_);
  // The pending StartRead()'s message, and reads started beside it (each
  // gets OnReadDone(false)).
  google::protobuf::MessageLite* read_ ABSL_GUARDED_BY(mu_) = nullptr;
  int refused_reads_ ABSL_GUARDED_BY(mu_) = 0;
  // Writes started and not yet reported, oldest first (few at a time; a
  // vector, as an empty std::deque allocates ~1 KiB per call).
  std::vector<Write> writes_ ABSL_GUARDED_BY(mu_);
  bool writes_done_asked_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_reported_ ABSL_GUARDED_BY(mu_) = false;
  int holds_ ABSL_GUARDED_BY(mu_) = 0;
  // The connection WatchConnection() watches; set before the call opens.
  ClientConnection* watched_ = nullptr;
  // Loop thread only.
  bool metadata_reported_ = false;
  bool deadline_taken_ = false;
};

}  // namespace internal
}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CALLBACK_CALL_H_
