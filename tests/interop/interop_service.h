// InteropService: the server side of the interop test service
// (interop.proto) through the blocking API, as interop_server --blocking
// serves it: each call holds a server thread for its life. Test-only.
// InteropCallbackService (interop_callback_service.h) answers exactly alike
// through the callback API, interop_server's default; the two share
// interop_service_helpers.h.
//
// Every handler does exactly what its request asks (sizes, statuses,
// pauses) and nothing else, so that a failing interop case points at the
// runtime, not at the service. Handlers that take request metadata echo
// the two keys of interop_common.h back (kEchoInitialKey as initial,
// kEchoTrailingKey as trailing metadata).
//
// The in-process tests derive from it to add probes to some handlers.
//
// Thread-safe: the server calls the handlers concurrently; they share no
// state.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_H_

#include "absl/status/status.h"
#include "interop.sockrpc.pb.h"

namespace sockrpc {
namespace interop {

class InteropService : public InteropTest::Service {
 public:
  absl::Status EmptyCall(ServerContext* context, const Nothing& request,
                         Nothing* reply) override;
  absl::Status UnaryCall(ServerContext* context, const UnaryRequest& request,
                         UnaryReply* reply) override;
  absl::Status SleepCall(ServerContext* context, const SleepRequest& request,
                         Nothing* reply) override;
  absl::Status StreamingInputCall(ServerContext* context,
                                  ServerReader<UploadChunk>* reader,
                                  UploadSummary* reply) override;
  absl::Status StreamingOutputCall(ServerContext* context,
                                   const DownloadRequest& request,
                                   ServerWriter<StreamChunk>* writer) override;
  absl::Status FullDuplexCall(
      ServerContext* context,
      ServerReaderWriter<StreamChunk, DuplexRequest>* stream) override;
  absl::Status HalfDuplexCall(
      ServerContext* context,
      ServerReaderWriter<StreamChunk, DuplexRequest>* stream) override;
  // UnimplementedCall is deliberately not overridden.
};

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_SERVICE_H_
