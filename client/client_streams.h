// Typed client-side calls: what generated stubs return for streaming
// methods and for the asynchronous form of unary methods.
//
//   ClientReader<Reply>                server streaming: Read(), Finish()
//   ClientWriter<Request, Reply>       client streaming: Write(),
//                                      WritesDone(), Finish() -> the reply
//   ClientReaderWriter<Request, Reply> bidirectional: Write(), WritesDone(),
//                                      Read(), Finish()
//   UnaryFuture<Reply>                 a unary call in flight: Wait(),
//                                      Get() -> the reply, or Then()
//
// Each is movable, owns its call, and cancels it if destroyed before
// Finish()/Get(). The ClientContext passed to the stub (if any) must
// outlive the object. Threading: see client/client_call.h.
#ifndef SOCKRPC_CLIENT_CLIENT_STREAMS_H_
#define SOCKRPC_CLIENT_CLIENT_STREAMS_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sockrpc/client/client_call.h"

namespace sockrpc {

template <typename Reply>
class ClientReader {
 public:
  explicit ClientReader(std::unique_ptr<ClientCall> call)
      : call_(std::move(call)) {}
  // Reads the next reply; false once the server has sent its last one (or
  // the call failed). Then call Finish().
  bool Read(Reply* reply) { return call_->Read(reply); }
  // The call's final status.
  absl::Status Finish() { return call_->Finish(); }
  void Cancel() { call_->Cancel(); }

 private:
  std::unique_ptr<ClientCall> call_;
};

template <typename Request, typename Reply>
class ClientWriter {
 public:
  explicit ClientWriter(std::unique_ptr<ClientCall> call)
      : call_(std::move(call)) {}
  // Sends one request; false if the call has ended (see Finish()).
  bool Write(const Request& request) { return call_->Write(request); }
  // No more requests.
  bool WritesDone() { return call_->WritesDone(); }
  // Half-closes if not done yet, then waits for the reply and the status.
  absl::StatusOr<Reply> Finish() {
    call_->WritesDone();
    Reply reply;
    bool got_reply = call_->Read(&reply);
    absl::Status status = call_->Finish();
    if (!status.ok()) return status;
    if (!got_reply) {
      return absl::InternalError("server ended the call without a reply");
    }
    return reply;
  }
  void Cancel() { call_->Cancel(); }

 private:
  std::unique_ptr<ClientCall> call_;
};

template <typename Request, typename Reply>
class ClientReaderWriter {
 public:
  explicit ClientReaderWriter(std::unique_ptr<ClientCall> call)
      : call_(std::move(call)) {}
  bool Write(const Request& request) { return call_->Write(request); }
  bool WritesDone() { return call_->WritesDone(); }
  bool Read(Reply* reply) { return call_->Read(reply); }
  absl::Status Finish() { return call_->Finish(); }
  void Cancel() { call_->Cancel(); }

 private:
  std::unique_ptr<ClientCall> call_;
};

// UnaryFuture: a unary call already sent, whose reply is collected later;
// one thread can keep many in flight. Two ways to collect it:
// - Get() (or Wait*()): the waiting thread reads the connection itself, as
//   a blocking call does: a Get() right after the call costs no thread
//   hand-off. While nobody waits, nobody reads for a future.
// - Then(done): the future completes in the background: the channel's
//   event loop (see client/client_callback.h) reads for it while no other
//   thread does, applies the deadline, and runs `done` when it has ended.
template <typename Reply>
class UnaryFuture {
 public:
  // The reply is parsed straight into a Reply the call owns when it
  // arrives (not copied, queued and parsed at Get()).
  explicit UnaryFuture(std::unique_ptr<ClientCall> call)
      : call_(std::move(call)) {
    call_->TakeUnaryReply(std::make_unique<Reply>());
  }
  // Waits until the call is over or `deadline` passes; true if over.
  bool WaitUntil(absl::Time deadline) {
    return call_->WaitUntilDone(deadline);
  }
  bool WaitFor(absl::Duration timeout) {
    return WaitUntil(absl::Now() + timeout);
  }
  // Waits for the call to end and returns its reply or status. Once only.
  absl::StatusOr<Reply> Get() { return Collect(*call_); }
  void Cancel() { call_->Cancel(); }

  // Then hands the call to the channel's event loop and returns at once:
  // `done` runs once, on the loop thread, with the reply or status when the
  // call has ended (it must not block; see client/client_callback.h). If
  // the channel has been destroyed, the call is cancelled and `done` runs
  // at once on this thread. Once only, instead of Get(): the future is
  // empty afterwards (only its destructor may be called), and the
  // ClientContext, if any, must stay alive until `done` runs.
  void Then(std::function<void(absl::StatusOr<Reply>)> done) {
    ClientCall::WhenDone(
        std::move(call_),
        [done = std::move(done)](std::unique_ptr<ClientCall> call) {
          done(Collect(*call));
        });
  }

 private:
  // The outcome of `call`, once over (waits for it).
  static absl::StatusOr<Reply> Collect(ClientCall& call) {
    google::protobuf::MessageLite* reply = nullptr;
    absl::Status status = call.FinishUnary(&reply);
    if (!status.ok()) return status;
    return std::move(*static_cast<Reply*>(reply));
  }

  std::unique_ptr<ClientCall> call_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_STREAMS_H_
