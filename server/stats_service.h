// StatsService: the built-in stats service (proto/sockrpc/stats.proto,
// docs/PROTOCOL.md section 18), which reports the numbers of
// server/server_stats.h and the open connections to `sockrpc stats ADDR`.
// Internal to the server runtime: Start() makes and registers it when
// ServerOptions::enable_stats_service is set.
//
// Who may read: checked per call against the caller's credentials
// (ServerOptions::stats_allowed_uids, stats_allow_any_peer); a refused
// caller gets PERMISSION_DENIED and learns nothing else.
//
// GetStats is a callback method, answered on the server thread that read
// the request: it holds no handler slot, so a server whose blocking
// handlers are all busy (the moment one wants its numbers) still answers.
//
// Thread-safe; lives as long as the runtime that made it.
#ifndef SOCKRPC_SERVER_STATS_SERVICE_H_
#define SOCKRPC_SERVER_STATS_SERVICE_H_

#include <sys/types.h>

#include "sockrpc/stats_server.sockrpc.pb.h"

namespace sockrpc {

class ServerRuntime;

class StatsService final : public stats::v1::Stats::CallbackService {
 public:
  // `runtime` must outlive the service.
  explicit StatsService(const ServerRuntime* runtime);

  ServerUnaryReactor* GetStats(CallbackServerContext* context,
                               const stats::v1::GetStatsRequest* request,
                               stats::v1::ServerStats* reply) override;

 private:
  // OK if the caller may read the stats; PERMISSION_DENIED otherwise.
  absl::Status Admit(const CallbackServerContext& context) const;
  void Fill(const stats::v1::GetStatsRequest& request,
            stats::v1::ServerStats* reply) const;

  const ServerRuntime* const runtime_;
  const uid_t own_uid_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_STATS_SERVICE_H_
