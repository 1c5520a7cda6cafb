// ServerCall: one unary call, from its complete request to the frames of
// its reply. Internal to the server runtime.
//
// A ServerCall is built by the thread that read the request and run
// exactly once, on that thread or on another server thread. It keeps its
// connection alive until it has sent the reply.
#ifndef SOCKRPC_SERVER_SERVER_CALL_H_
#define SOCKRPC_SERVER_SERVER_CALL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/service.h"
#include "sockrpc/wire.pb.h"

namespace sockrpc {

class ServerConnection;

class ServerCall {
 public:
  ServerCall(std::shared_ptr<ServerConnection> connection, uint32_t stream_id,
             const Service::Method* method, wire::CallHeader header,
             absl::Time deadline, std::string request)
      : connection_(std::move(connection)),
        stream_id_(stream_id),
        method_(method),
        header_(std::move(header)),
        deadline_(deadline),
        request_(std::move(request)) {}

  // Runs the handler on the calling thread and sends the reply frames.
  void Run();

 private:
  std::shared_ptr<ServerConnection> connection_;
  uint32_t stream_id_;
  const Service::Method* method_;  // owned by a Service that outlives us
  wire::CallHeader header_;
  absl::Time deadline_;
  std::string request_;  // the request message's encoding
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_CALL_H_
