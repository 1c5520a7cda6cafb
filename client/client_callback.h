// The client's callback (reactor) API: calls that report their progress
// through callbacks, holding no application thread while they wait.
//
// A stub's async() holds the callback form of each method (the generated
// Foo::Stub::Async). A unary call takes a completion function, which gets
// the call's status once `*reply` holds the reply (or the call failed):
//
//   stub.async()->Latest(&context, &request, &reply,
//                        [](absl::Status status) { ... });
//
// A streaming call takes a reactor: an object of the application's that
// derives from ClientReadReactor (server streaming), ClientWriteReactor
// (client streaming) or ClientBidiReactor (bidirectional). The stub method
// binds the reactor to a new call; StartCall() starts it. The reactor
// starts operations (StartRead, StartWrite, StartWritesDone), each of
// which returns at once, and the channel reports their outcome through the
// reactor's reactions (OnReadDone, OnWriteDone, ...), ending with OnDone.
// The shape is gRPC C++'s client callback API:
//
//   class Watcher : public sockrpc::ClientReadReactor<Reading> {
//    public:
//     Watcher(Meter::Stub* stub, const WatchRequest& request) {
//       stub->async()->Watch(&context_, &request, this);
//       StartRead(&reading_);
//       StartCall();
//     }
//     void OnReadDone(bool ok) override {
//       if (ok) StartRead(&reading_);  // after using reading_
//     }
//     void OnDone(const absl::Status& status) override { delete this; }
//
//    private:
//     sockrpc::ClientContext context_;
//     Reading reading_;
//   };
//
// Threads: reactions (and unary completion functions) run on the
// channel's event loop, one thread per Channel, started the first time the
// channel needs it (a plain blocking call never starts it). Calls of this
// API hold no other thread: the loop reads their replies whenever no
// blocking caller is reading the connection (see client/channel.h).
//
// Rules (docs/ARCHITECTURE.md has the picture of who reads when):
// - The stub method binds the reactor to a call and sends nothing. Call
//   StartCall() once, before the Channel is destroyed; operations started
//   before it (in the reactor's constructor, say) begin when the call
//   does. A bound reactor gets OnDone() even if it is never started (when
//   the Channel is destroyed), so it must live until then. A unary or
//   server-streaming call's `*request` is serialized by StartCall() (by the
//   stub method for unary calls) and may go away then.
// - Start*() may be called from any thread, at any time from binding until
//   OnDone(). They never run a reaction themselves, so they may be called
//   while holding a lock that reactions take. An operation started from
//   outside the reactions must be covered by a hold (as in gRPC): an
//   AddHold() made before StartCall() or inside a reaction, and removed
//   (RemoveHold()) once those operations are started; without one, the
//   call may end, and the reactor be deleted in OnDone(), under them.
//   StartCall() may block while the channel connects (its first call, or
//   after the connection was lost); no operation blocks on the server.
//   If the channel's event loop cannot start (no descriptor or thread
//   left), the call fails with UNAVAILABLE inside StartCall(): its
//   reactions, OnDone() included, run on the calling thread before
//   StartCall() returns (the one exception to the rule below).
// - Reactions run on the loop thread, one at a time: reactions of one call
//   never overlap, nor do those of different calls of the channel. They
//   must not block (no blocking call, no waiting for another thread):
//   while one runs, no other callback call of the channel makes progress.
// - OnReadInitialMetadataDone(ok) runs once, before the first OnReadDone()
//   and before OnDone(): ok is true if the server's initial metadata (see
//   ClientContext::server_initial_metadata()) arrived, false if the call ended
//   without it. Optional: the default does nothing.
// - Every StartWrite() gets one OnWriteDone(ok), in order. The message is
//   serialized at once and may be reused when StartWrite() returns. Writes
//   may be started before earlier ones are done: they queue, and leave as
//   the server's flow-control window allows (a write beyond the window
//   completes when a WINDOW_UPDATE makes room). ok is false if the call
//   ended first, or after StartWritesDone().
// - StartWritesDone() once: HALF_CLOSE goes out after every write started
//   before it; then OnWritesDoneDone(ok).
// - One StartRead() at a time: its message must stay alive until
//   OnReadDone(ok). ok is false at the end of the server's messages, or if
//   the call ended. A second StartRead() before OnReadDone() fails
//   (OnReadDone(false)) without disturbing the first.
// - ClientContext::TryCancel() cancels the call: OnDone(CANCELLED). The
//   context's deadline applies: at the deadline the call ends with
//   DEADLINE_EXCEEDED whether or not the server ever answers. The context
//   must outlive the call (until OnDone()).
// - OnDone(status) runs exactly once, last: after the call ended (the
//   server's status, a cancel, the deadline, a failure), after every other
//   reaction has returned, and once every AddHold() was matched by a
//   RemoveHold(). The reactor may delete itself there; it must not be used
//   after. AddHold() keeps OnDone() from running (and the reactor alive)
//   until RemoveHold(); call it before StartCall() or inside a reaction,
//   never from outside once the call runs (the call may be ending then).
// - Client interceptors' OnCallStart() runs in StartCall(), their
//   OnCallEnd() on the loop thread right before OnDone().
// - Destroying the Channel cancels every callback call still in flight
//   (OnDone(CANCELLED), after the reactions still due with ok false). From
//   any other thread, the destructor waits for those OnDone()s, and for
//   holds to be removed, and stops the loop thread. From inside a reaction
//   (on the loop thread itself) it returns at once: the loop delivers those
//   OnDone()s once the current reaction returns, and then its thread ends
//   by itself.
#ifndef SOCKRPC_CLIENT_CLIENT_CALLBACK_H_
#define SOCKRPC_CLIENT_CLIENT_CALLBACK_H_

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"

namespace sockrpc {

class Channel;

namespace internal {

class ClientCallbackCall;

// ClientReactorBase: what every client reactor shares: its reactions and
// the binding to its call. Applications derive from the typed reactors
// below instead.
class ClientReactorBase {
 public:
  virtual ~ClientReactorBase() = default;

  // Reactions; see the rules at the top of this file.
  virtual void OnReadInitialMetadataDone(bool ok) {}
  virtual void OnReadDone(bool ok) {}
  virtual void OnWriteDone(bool ok) {}
  virtual void OnWritesDoneDone(bool ok) {}
  virtual void OnDone(const absl::Status& status) = 0;

 protected:
  ClientReactorBase() = default;

  void DoStartCall();
  void DoStartRead(google::protobuf::MessageLite* message);
  void DoStartWrite(const google::protobuf::MessageLite& message);
  void DoStartWritesDone();
  void DoAddHold();
  void DoRemoveHold();

 private:
  friend class ::sockrpc::Channel;  // binds call_
  // The call this reactor is bound to; set by the stub method, before any
  // operation, and owned by the channel's event loop.
  ClientCallbackCall* call_ = nullptr;
};

}  // namespace internal

// ClientReadReactor: a server-streaming call: the request goes out with
// StartCall(), then the replies are read one StartRead() at a time.
template <typename Reply>
class ClientReadReactor : public internal::ClientReactorBase {
 public:
  void StartCall() { DoStartCall(); }
  // Reads the next reply into `*reply` (alive until OnReadDone()).
  void StartRead(Reply* reply) { DoStartRead(reply); }
  void AddHold() { DoAddHold(); }
  void RemoveHold() { DoRemoveHold(); }
};

// ClientWriteReactor: a client-streaming call. The reply given to the stub
// method is filled in when the call ends OK (before OnDone()).
template <typename Request>
class ClientWriteReactor : public internal::ClientReactorBase {
 public:
  void StartCall() { DoStartCall(); }
  // Sends `*request` (serialized now) as the server's window allows.
  void StartWrite(const Request* request) { DoStartWrite(*request); }
  // No more requests: HALF_CLOSE after the writes started before.
  void StartWritesDone() { DoStartWritesDone(); }
  void AddHold() { DoAddHold(); }
  void RemoveHold() { DoRemoveHold(); }
};

// ClientBidiReactor: a bidirectional call: reads and writes in any order,
// one read and any number of writes outstanding at a time.
template <typename Request, typename Reply>
class ClientBidiReactor : public internal::ClientReactorBase {
 public:
  void StartCall() { DoStartCall(); }
  void StartRead(Reply* reply) { DoStartRead(reply); }
  void StartWrite(const Request* request) { DoStartWrite(*request); }
  void StartWritesDone() { DoStartWritesDone(); }
  void AddHold() { DoAddHold(); }
  void RemoveHold() { DoRemoveHold(); }
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CALLBACK_H_
