// ClientCall: one call in flight, of any kind, as untyped messages. The
// typed ClientReader/ClientWriter/ClientReaderWriter/UnaryFuture of
// client/client_streams.h wrap it; applications use those.
//
// Made by Channel::StartCall(). Writes may block while the server has not
// consumed enough of what was sent (flow control); reads block until a
// reply arrives. While blocked, the calling thread may read the
// connection for every call on it (see client/channel.h).
//
// Thread-compatible: one thread at a time, except that one thread may
// Read() while another Write()s, and Cancel() may come from any thread.
// Destroying an unfinished call cancels it.
#ifndef SOCKRPC_CLIENT_CLIENT_CALL_H_
#define SOCKRPC_CLIENT_CLIENT_CALL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "sockrpc/client/interceptor.h"

namespace sockrpc {

class ClientConnection;
class ClientContext;
class ClientEventLoop;
class ClientCallState;

class ClientCall {
 public:
  ~ClientCall();
  ClientCall(const ClientCall&) = delete;
  ClientCall& operator=(const ClientCall&) = delete;

  // Sends one request message. False if the call has ended (Finish() says
  // why) or the client already half-closed.
  bool Write(const google::protobuf::MessageLite& message);
  // Half-closes the call: no more request messages. False if it has ended.
  bool WritesDone();
  // Reads the next reply message into `message`. False at the end of the
  // replies, or if the call failed or a reply does not parse.
  bool Read(google::protobuf::MessageLite* message);
  // Waits until the server's final status has arrived (or the call failed)
  // or `deadline` passes. True if the call is over.
  bool WaitUntilDone(absl::Time deadline);
  // Waits for and returns the call's final status. Unread replies are
  // dropped. Calls the interceptors' OnCallEnd once.
  absl::Status Finish();
  // Cancels the call: the server is told, the status becomes CANCELLED
  // (unless the call already ended). Thread-safe.
  void Cancel();

  // For UnaryFuture: the call takes `reply`, an empty message of the
  // method's reply type, and the reply is parsed straight into it when it
  // arrives (if it has not arrived yet; then it is parsed from the queue).
  // Once, right after the call is made.
  void TakeUnaryReply(std::unique_ptr<google::protobuf::MessageLite> reply);
  // After TakeUnaryReply(), instead of Read() and Finish(): waits for the
  // call to end and returns Finish()'s status, or INTERNAL if the server
  // ended the call OK without a reply. When OK, `*reply` is the reply
  // (owned by this call; the caller may move from it).
  absl::Status FinishUnary(google::protobuf::MessageLite** reply);

  // WhenDone hands `call` to its channel's event loop, which reads for it
  // while no other thread does and, once the call has ended, runs `done`
  // with it on the loop thread (Read() and Finish() then return at once).
  // If the channel is gone, cancels the call and runs `done` at once, on
  // this thread. For UnaryFuture::Then().
  static void WhenDone(
      std::unique_ptr<ClientCall> call,
      absl::AnyInvocable<void(std::unique_ptr<ClientCall>)> done);

 private:
  friend class Channel;
  // The call's connection, or null if it has none or it is the parent's
  // and this is a forked child (a call begun before fork() then fails in
  // the child without touching the parent's socket or locks).
  ClientConnection* LiveConnection() const;
  // `stream`'s context is the caller's, `owned_context`, or null (no
  // context given and no interceptors); `interceptors` have run
  // OnCallStart and get OnCallEnd from Finish() (`method` and `start` are
  // for them). `loop` is the channel's event loop, for WhenDone().
  ClientCall(std::shared_ptr<ClientCallState> stream,
             std::unique_ptr<ClientContext> owned_context, std::string method,
             std::vector<ClientInterceptor*> interceptors, absl::Time start,
             std::shared_ptr<ClientEventLoop> loop);

  // An interceptor's hook failed the call with `status`: the server is
  // told, and the call ends with it.
  void FailForHook(absl::Status status);

  std::shared_ptr<ClientCallState> stream_;
  const std::shared_ptr<ClientEventLoop> loop_;
  std::unique_ptr<ClientContext> owned_context_;
  const std::string method_;
  const std::vector<ClientInterceptor*> interceptors_;
  const absl::Time start_;
  bool finished_ = false;
  // The status Finish() returned first (after the interceptors' OnStatus).
  absl::Status final_status_;
  // Set when an interceptor's OnRequest or OnReply failed the call: its
  // status is the call's, whatever the server sent.
  absl::Status hook_failure_;
  // TakeUnaryReply()'s message, and whether the connection parses the
  // reply into it (else it is queued, as for any call, and Read() into it).
  std::unique_ptr<google::protobuf::MessageLite> unary_reply_;
  bool reply_parsed_in_place_ = false;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_CALL_H_
