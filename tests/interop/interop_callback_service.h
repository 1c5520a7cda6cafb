// InteropCallbackService: the interop test service (interop.proto) served
// through the server's callback API (server/server_callback.h), as
// interop_server serves it by default. Test-only.
//
// It answers every request exactly as InteropService, the blocking form,
// does (the same statuses, replies, metadata echo and delays; the two share
// interop_service_helpers.h), but no call holds a thread: every method
// returns a reactor at once, and the waits (SleepCall, a
// StreamingOutputCall's pause_us) are timers on the service's TimerQueue,
// so no reaction ever blocks. A reactor whose call ends for the client
// (cancel, deadline, disconnect, server shutdown) cancels its pending
// timer and finishes in OnCancel(); every reactor deletes itself in
// OnDone().
//
// UnimplementedCall is served too, by a reactor that ends it with the
// generated UNIMPLEMENTED status, the same as InteropService's.
//
// Thread-safe: the server calls the methods concurrently; calls share
// nothing but the timer queue.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_CALLBACK_SERVICE_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_CALLBACK_SERVICE_H_

#include <cstddef>

#include "interop.sockrpc.pb.h"
#include "server/server_callback.h"
#include "tests/interop/interop_timers.h"

namespace sockrpc {
namespace interop {

class InteropCallbackService : public InteropTest::CallbackService {
 public:
  // The blocking forms stay visible (and unused: every callback form
  // returns a reactor).
  using InteropTest::CallbackService::EmptyCall;
  using InteropTest::CallbackService::FullDuplexCall;
  using InteropTest::CallbackService::HalfDuplexCall;
  using InteropTest::CallbackService::SleepCall;
  using InteropTest::CallbackService::StreamingInputCall;
  using InteropTest::CallbackService::StreamingOutputCall;
  using InteropTest::CallbackService::UnaryCall;
  using InteropTest::CallbackService::UnimplementedCall;

  InteropCallbackService() = default;
  // Must outlive the server it is registered with (as every Service), and
  // so every call and timer.
  ~InteropCallbackService() override = default;

  ServerUnaryReactor* EmptyCall(CallbackServerContext* context,
                                const Nothing* request,
                                Nothing* reply) override;
  ServerUnaryReactor* UnaryCall(CallbackServerContext* context,
                                const UnaryRequest* request,
                                UnaryReply* reply) override;
  ServerUnaryReactor* SleepCall(CallbackServerContext* context,
                                const SleepRequest* request,
                                Nothing* reply) override;
  ServerReadReactor<UploadChunk>* StreamingInputCall(
      CallbackServerContext* context, UploadSummary* reply) override;
  ServerWriteReactor<StreamChunk>* StreamingOutputCall(
      CallbackServerContext* context, const DownloadRequest* request) override;
  ServerBidiReactor<DuplexRequest, StreamChunk>* FullDuplexCall(
      CallbackServerContext* context) override;
  ServerBidiReactor<DuplexRequest, StreamChunk>* HalfDuplexCall(
      CallbackServerContext* context) override;
  ServerUnaryReactor* UnimplementedCall(CallbackServerContext* context,
                                        const Nothing* request,
                                        Nothing* reply) override;

  // How many waits are pending; once every call has ended, none should be.
  size_t pending_timers() const { return timers_.pending(); }

 private:
  // The waits of every call. Destroyed with the service, after the server
  // (and so every reactor) is done.
  TimerQueue timers_;
};

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_CALLBACK_SERVICE_H_
