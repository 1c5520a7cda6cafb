// Typed client-side calls: what generated stubs return for streaming
// methods and for the asynchronous form of unary methods.
//
//   ClientReader<Reply>                server streaming: Read(), Finish()
//   ClientWriter<Request, Reply>       client streaming: Write(),
//                                      WritesDone(), Finish() -> the reply
//   ClientReaderWriter<Request, Reply> bidirectional: Write(), WritesDone(),
//                                      Read(), Finish()
//   UnaryFuture<Reply>                 a unary call in flight: Wait(),
//                                      Get() -> the reply
//
// Each is movable, owns its call, and cancels it if destroyed before
// Finish()/Get(). The ClientContext passed to the stub (if any) must
// outlive the object. Threading: see client/client_call.h.
#ifndef SOCKRPC_CLIENT_CLIENT_STREAMS_H_
#define SOCKRPC_CLIENT_CLIENT_STREAMS_H_

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client_call.h"

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
// one thread can keep many in flight. The thread that waits reads the
// connection (there is no background thread), so a future's reply arrives
// only while some thread waits on this channel.
template <typename Reply>
class UnaryFuture {
 public:
  explicit UnaryFuture(std::unique_ptr<ClientCall> call)
      : call_(std::move(call)) {}
  // Waits until the call is over or `deadline` passes; true if over.
  bool WaitUntil(absl::Time deadline) {
    return call_->WaitUntilDone(deadline);
  }
  bool WaitFor(absl::Duration timeout) {
    return WaitUntil(absl::Now() + timeout);
  }
  // Waits for the call to end and returns its reply or status. Once only.
  absl::StatusOr<Reply> Get() {
    Reply reply;
    bool got_reply = call_->Read(&reply);
    absl::Status status = call_->Finish();
    if (!status.ok()) return status;
    if (!got_reply) {
      return absl::InternalError("server ended a unary call without a reply");
    }
    return reply;
  }
  void Cancel() { call_->Cancel(); }

 private:
  std::unique_ptr<ClientCall> call_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_STREAMS_H_
