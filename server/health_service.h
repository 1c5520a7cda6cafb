// HealthService: the built-in health checking service
// (proto/sockrpc/health.proto, docs/PROTOCOL.md section 17), with gRPC's
// health semantics. It tells supervisors, container probes and load
// balancers whether the server, or one of its services, is ready to serve:
// `sockrpc health ADDR [SERVICE]` exits 0 only when it is.
//
// The server makes one unless ServerOptions::enable_health_service is
// false, and registers it at Start(); the application reaches it through
// Server::health() to say how its services are:
//
//   using sockrpc::ServingStatus;
//   server.health()->SetServingStatus("pkg.Svc", ServingStatus::kNotServing);
//   server.health()->SetServingStatus("", true);  // gRPC's spelling
//
// What it reports:
// - "" is the server as a whole. At Start(), "" and every registered
//   service become SERVING, except names the application set before
//   Start() (a server that is still warming up sets "" NOT_SERVING first,
//   and SERVING when ready).
// - A name the application sets becomes known, registered or not;
//   ClearServingStatus() forgets one.
// - When Shutdown() begins, every name becomes NOT_SERVING, open Watch
//   calls are sent NOT_SERVING and end (UNAVAILABLE), and later setters
//   are ignored, so a draining server never reports SERVING again.
// - Check: the status now; NOT_FOUND for a name the server does not know.
// - Watch: the status at once, then each change (only changes), until the
//   client cancels or the server shuts down; SERVICE_UNKNOWN for a name
//   the server does not know, watched on until it becomes known.
//
// Both methods are callback methods: an open Watch holds no thread (any
// number may be open), and health is answered even while every blocking
// handler slot is taken. A Watch starts one write at a time and keeps one
// status waiting: changes made faster than the client reads are coalesced
// into the latest, so a client that stops reading costs the server at most
// the stream's flow-control window of statuses (64 KiB) and one waiting,
// however often statuses change.
//
// Thread-safe: the setters and getters may be called from any thread, at
// any time, including from handlers and reactions (they never run a
// reaction themselves). A setter sends the change to the watchers on the
// calling thread, so the OnReply hooks of server interceptors
// (server/interceptor.h) run there for those replies, under the service's
// lock: such a hook must not call the setters.
#ifndef SOCKRPC_SERVER_HEALTH_SERVICE_H_
#define SOCKRPC_SERVER_HEALTH_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sockrpc/health_server.sockrpc.pb.h"
#include "sockrpc/server/server_callback.h"
#include "sockrpc/server/service.h"

namespace sockrpc {

// ServingStatus: what the application says of a service.
enum class ServingStatus {
  kServing,     // ready to serve calls
  kNotServing,  // up, but not serving (starting, draining, degraded)
};

class HealthService final : public health::v1::Health::CallbackService {
 public:
  HealthService();
  // The server destroys it after Shutdown(), when no Watch is open.
  ~HealthService() override;

  // SetServingStatus sets the status of `service` (a fully qualified
  // service name, or "" for the whole server), which becomes known if it
  // was not. Watchers of `service` are sent the change. Ignored once
  // Shutdown() has begun.
  void SetServingStatus(absl::string_view service, ServingStatus status);
  // The same, gRPC's spelling: `serving` true is SERVING.
  void SetServingStatus(absl::string_view service, bool serving);
  // Sets every known name, "" included, to SERVING or NOT_SERVING, as
  // gRPC's SetServingStatus(bool) does.
  void SetServingStatus(bool serving);
  // Forgets `service`: Check then fails with NOT_FOUND and watchers are
  // sent SERVICE_UNKNOWN. Ignored once Shutdown() has begun.
  void ClearServingStatus(absl::string_view service);
  // The status of `service` now; nothing if it is not known.
  std::optional<ServingStatus> GetServingStatus(
      absl::string_view service) const;

  // For the server runtime; applications need not call these.
  //
  // Start: "" and each of `services` become SERVING, unless set already.
  void Start(const std::vector<std::string>& services);
  // Shutdown: every name becomes NOT_SERVING, each open Watch is sent
  // NOT_SERVING (after any status already in flight) and is finished with
  // UNAVAILABLE "server shutting down"; a Watch started later gets
  // NOT_SERVING and ends the same way. Setters are ignored from now on.
  void Shutdown();

  // The methods of health.proto (see the top of this file).
  ServerUnaryReactor* Check(CallbackServerContext* context,
                            const health::v1::HealthCheckRequest* request,
                            health::v1::HealthCheckResponse* reply) override;
  ServerWriteReactor<health::v1::HealthCheckResponse>* Watch(
      CallbackServerContext* context,
      const health::v1::HealthCheckRequest* request) override;

 private:
  // The statuses and the open Watch calls, under one lock (defined in
  // health_service.cc, with the reactor of a Watch call).
  struct State;
  class Watcher;

  const std::unique_ptr<State> state_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_HEALTH_SERVICE_H_
