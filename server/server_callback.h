// The server's callback (reactor) API: handlers that return at once and
// finish their call later, from any thread, holding no thread meanwhile.
//
// A method of a generated Foo::CallbackService returns a reactor instead of
// a status. The reactor starts operations (StartRead, StartWrite,
// StartSendInitialMetadata, Finish), each of which returns at once; the
// server reports their outcome through the reactor's reactions (OnReadDone,
// OnWriteDone, OnSendInitialMetadataDone, OnCancel) and ends with OnDone.
// The shape is gRPC C++'s callback API:
//
//   class Watcher : public sockrpc::ServerWriteReactor<Event> {
//    public:
//     Watcher() { StartWrite(&first_); }
//     void OnWriteDone(bool ok) override { if (!ok) Finish(Cancelled()); }
//     void OnDone() override { delete this; }
//   };
//   sockrpc::ServerWriteReactor<Event>* Watch(
//       sockrpc::CallbackServerContext* context,
//       const WatchRequest* request) override { return new Watcher(); }
//
// Rules (docs/ARCHITECTURE.md has the state diagram):
// - Start*() and Finish() may be called from any thread, at any time
//   from the handler's start (a reactor's constructor included) until
//   OnDone(). They never run a reaction themselves, so they may be called
//   while holding a lock that reactions take.
// - Reactions of one call never run at once, and never inside a Start*()
//   or Finish() of the same call: they run one after another, on a server
//   thread (or on the thread that finished a reaction of the same call).
//   Reactions must not block: they run on the thread that reads sockets.
// - Every StartWrite() gets one OnWriteDone(ok), in order; the message is
//   serialized at once and may be reused when StartWrite() returns. Writes
//   may be started before earlier ones are done: they queue, and leave as
//   the client's flow-control window allows. ok is false if the call ended
//   first. A write given WriteOptions().set_buffer_hint() may wait in the
//   call for the writes after it (done, OnWriteDone(true), once it waits
//   there) and leave with them in one write: with the next write without
//   the hint, before a StartRead() that must wait for the client or a
//   write that must wait for window, or with Finish()'s STATUS
//   (transport/write_options.h).
// - One StartRead() at a time: its message must stay alive until
//   OnReadDone(ok). ok is false at the end of the client's messages, or if
//   the call ended. A second StartRead() before OnReadDone() fails at once
//   (OnReadDone(false)).
// - Finish() once: STATUS goes out after every write started before it.
//   Later Finish() calls are ignored and logged; writes started after it
//   get OnWriteDone(false).
// - OnCancel() runs at most once, if the call ends for the client (it
//   cancelled or disconnected, the deadline passed, the server shut down)
//   before the reactor's Finish() went out. The reactor must still call
//   Finish() (its status is then dropped).
// - OnDone() runs exactly once, last, after Finish() and after every other
//   reaction has returned; the reactor may delete itself there. After
//   OnDone() the reactor must not be used.
// - A reactor that never calls Finish(): its call still ends for the
//   client at its deadline, cancel or disconnect (OnCancel), and at server
//   shutdown OnDone() runs anyway once OnCancel() has returned; Finish()
//   must not be called after that OnDone().
#ifndef SOCKRPC_SERVER_SERVER_CALLBACK_H_
#define SOCKRPC_SERVER_SERVER_CALLBACK_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "sockrpc/server/server_context.h"
#include "sockrpc/transport/write_options.h"

namespace sockrpc {

class ServerUnaryReactor;

// CallbackServerContext: the ServerContext of a callback method. Borrowed
// by the handler and its reactor until OnDone().
class CallbackServerContext : public ServerContext {
 public:
  // A reactor owned by the call, for unary methods that need no reactor of
  // their own: fill in the reply, then call DefaultReactor()->Finish()
  // (now or later, from any thread) and return DefaultReactor(). Its
  // OnDone() is the call's own: the handler must not touch the request,
  // the reply or the context once it has called Finish(), which ends the
  // call at once, on the calling thread (the messages go back to the
  // method's pool for a later call when the call is done).
  ServerUnaryReactor* DefaultReactor();
};

namespace internal {

// ReactorCall: the untyped operations of one call, implemented by the
// server runtime. A reactor reaches its call only through this.
class ReactorCall {
 public:
  virtual void StartSendInitialMetadata() = 0;
  virtual void StartRead(google::protobuf::MessageLite* message) = 0;
  // Serializes `message` before it returns.
  virtual void StartWrite(const google::protobuf::MessageLite& message,
                          WriteOptions options) = 0;
  // A write started before the reactor was bound: `frame` holds
  // kFrameHeaderSize bytes of room, then the message's encoding.
  virtual void StartEncodedWrite(std::string frame, WriteOptions options) = 0;
  virtual void Finish(absl::Status status) = 0;

 protected:
  ~ReactorCall() = default;
};

class ServerReactorBase;

// ServerReactorBase: what every reactor shares: its reactions and the
// binding to its call. Operations started before the runtime binds the
// reactor (in its constructor, say) are kept and replayed at binding.
class ServerReactorBase {
 public:
  virtual ~ServerReactorBase() = default;

  // Reactions; see the rules at the top of this file.
  virtual void OnSendInitialMetadataDone(bool ok) {}
  virtual void OnReadDone(bool ok) {}
  virtual void OnWriteDone(bool ok) {}
  virtual void OnCancel() {}
  virtual void OnDone() = 0;

  // For the runtime: attaches the reactor to `call` and replays what was
  // started before. Called once, on the thread that ran the handler (does
  // nothing to a reactor bound already).
  void Bind(ReactorCall* call);

 protected:
  ServerReactorBase() = default;
  // A reactor bound to `call` from the start: its operations go straight
  // to the call (the runtime's own, CallbackServerContext::DefaultReactor).
  explicit ServerReactorBase(ReactorCall* call) : call_(call) {}

  void DoStartSendInitialMetadata();
  void DoStartRead(google::protobuf::MessageLite* message);
  void DoStartWrite(const google::protobuf::MessageLite& message,
                    WriteOptions options);
  void DoFinish(absl::Status status);

 private:
  // One operation started before Bind().
  struct Started {
    enum class Kind { kInitialMetadata, kRead, kWrite, kFinish } kind;
    google::protobuf::MessageLite* read_target = nullptr;
    std::string frame;  // kWrite: see ReactorCall::StartEncodedWrite()
    WriteOptions options;  // kWrite
    absl::Status status;
  };
  // Starts `operation` on `call`.
  static void Apply(ReactorCall* call, Started operation);
  // The call once bound; null before. Read without the lock once set.
  ReactorCall* BoundCall();
  // For an operation started while the reactor looked unbound (the
  // Do*() functions go straight to a bound call): keeps it for Bind(), or
  // runs it on the call if bound meanwhile.
  void StartOrKeep(Started operation);

  std::atomic<ReactorCall*> call_{nullptr};
  std::mutex backlog_mu_;
  // Guarded by backlog_mu_. Room for one without allocating: a unary
  // reactor of the application's that finishes before it returns (in its
  // constructor, say) keeps its Finish() here. (The default reactor is
  // bound from the start and never keeps anything.)
  absl::InlinedVector<Started, 1> backlog_;
};

}  // namespace internal

// ServerUnaryReactor: one request, one reply. The request and reply the
// handler got stay alive until OnDone(); fill in the reply before Finish().
class ServerUnaryReactor : public internal::ServerReactorBase {
 public:
  ServerUnaryReactor() = default;

  // Sends the initial metadata (ServerContext::AddInitialMetadata) now,
  // before the reply. Optional: Finish() sends it.
  void StartSendInitialMetadata() { DoStartSendInitialMetadata(); }
  // Ends the call: the reply (if `status` is OK) and STATUS.
  void Finish(absl::Status status) { DoFinish(std::move(status)); }

 protected:
  // For the runtime's DefaultReactor(): bound to its call from the start.
  explicit ServerUnaryReactor(internal::ReactorCall* call)
      : ServerReactorBase(call) {}
};

// ServerReadReactor: a client-streaming call. The reply the handler got
// stays alive until OnDone(); fill it in before Finish().
template <typename Request>
class ServerReadReactor : public internal::ServerReactorBase {
 public:
  void StartSendInitialMetadata() { DoStartSendInitialMetadata(); }
  // Reads the next request into `*request` (alive until OnReadDone()).
  void StartRead(Request* request) { DoStartRead(request); }
  // Ends the call: the reply (if `status` is OK) and STATUS.
  void Finish(absl::Status status) { DoFinish(std::move(status)); }
};

// ServerWriteReactor: a server-streaming call. The request the handler got
// stays alive until OnDone().
template <typename Reply>
class ServerWriteReactor : public internal::ServerReactorBase {
 public:
  void StartSendInitialMetadata() { DoStartSendInitialMetadata(); }
  // Sends `reply` (serialized now) as the client's window allows; with
  // the buffer hint, it may wait for the writes after it.
  void StartWrite(const Reply* reply, WriteOptions options = WriteOptions()) {
    DoStartWrite(*reply, options);
  }
  // StartWrite(reply) then Finish(status): one write, with the STATUS.
  void StartWriteAndFinish(const Reply* reply, absl::Status status) {
    DoStartWrite(*reply, WriteOptions().set_buffer_hint());
    DoFinish(std::move(status));
  }
  // Ends the call with STATUS, after every write started before.
  void Finish(absl::Status status) { DoFinish(std::move(status)); }
};

// ServerBidiReactor: a bidirectional call: reads and writes in any order,
// one read and any number of writes outstanding at a time.
template <typename Request, typename Reply>
class ServerBidiReactor : public internal::ServerReactorBase {
 public:
  void StartSendInitialMetadata() { DoStartSendInitialMetadata(); }
  void StartRead(Request* request) { DoStartRead(request); }
  void StartWrite(const Reply* reply, WriteOptions options = WriteOptions()) {
    DoStartWrite(*reply, options);
  }
  void StartWriteAndFinish(const Reply* reply, absl::Status status) {
    DoStartWrite(*reply, WriteOptions().set_buffer_hint());
    DoFinish(std::move(status));
  }
  void Finish(absl::Status status) { DoFinish(std::move(status)); }
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CALLBACK_H_
