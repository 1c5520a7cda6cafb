// Server: serves registered services on one or more listening sockets.
//
// Threading model: one thread at a time waits on the server's epoll
// instance. The thread that reads a complete request runs its handler
// right there (no hand-off), and then goes back to epoll: the next request
// finds it warm, with no other thread to wake. Handlers come in two forms
// (server/service.h, server/server_callback.h):
// - Callback methods (Foo::CallbackService) return a reactor at once; the
//   call then holds no thread while it waits, and its reactions run on the
//   thread that made them due (the reader, usually). Any number of such
//   calls may be open.
// - Blocking handlers (Foo::Service, or a callback method's blocking form)
//   hold a thread for the call's life. At most ServerOptions::max_threads
//   run at once; further calls wait for one to end. Threads beyond those
//   are kept for reading sockets, so that a full pool never stops the
//   server from seeing new calls, cancels, PINGs and disconnects.
// A watchdog thread, ticking only while handlers run, sees a handler that
// has run for a tick (1-2 ms) while nobody polled and takes over the
// polling, starting a successor, so one slow handler delays other calls by
// a tick at most. An idle server's threads sleep in epoll_wait; its only
// timers run while a client has not sent its preface yet (once a second)
// or a call with a deadline is in flight.
//
// Life cycle: construct, RegisterService() and Listen() (binds at once),
// Start(), then Wait() or Shutdown(). Shutdown() may be called from any
// thread, once or more; the destructor calls it.
//
// fork(): a child of a process whose Server has started must not use the
// Server, not even destroy it (its threads are not in the child, the locks
// they held stay locked, and its listening and client sockets and epoll
// instance are the parent's: a shutdown() or epoll_ctl() there would
// change the parent's). The child should exec (every descriptor is
// close-on-exec) or leave with _exit(). Unlike a Channel (client/channel.h)
// the server does not detect the fork, except that ConnectInProcess()
// fails in the child (so an in-process channel inherited by a child fails
// its calls there rather than poke the parent's server).
#ifndef SOCKRPC_SERVER_SERVER_H_
#define SOCKRPC_SERVER_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sockrpc/server/interceptor.h"
#include "sockrpc/server/service.h"
#include "sockrpc/transport/fd.h"
#include "sockrpc/transport/frame.h"
#include "sockrpc/transport/metadata.h"
#include "sockrpc/transport/tls_options.h"

namespace sockrpc {

class HealthService;
class ServerRuntime;

// Options for a Server.
struct ServerOptions {
  // Largest frame payload accepted or sent. A larger request fails its call
  // with RESOURCE_EXHAUSTED and the connection stays usable.
  uint32_t max_frame_size = kDefaultMaxFrameSize;
  // Largest metadata of one direction of a call (see transport/metadata.h).
  // Larger request metadata fails the call with RESOURCE_EXHAUSTED.
  size_t max_metadata_size = kDefaultMaxMetadataSize;
  // Mode bits for filesystem socket files (for example 0600); unset: as the
  // umask gives.
  std::optional<mode_t> socket_file_mode;
  // Who may call, checked once per connection against the peer's
  // credentials (SO_PEERCRED, unix sockets only): a peer is admitted if its
  // uid is in allowed_uids or its (primary) gid in allowed_gids. Both empty:
  // anyone who can connect. Refused peers get PERMISSION_DENIED for every
  // call, before any handler or interceptor runs, and are logged. TCP peers
  // have no credentials and are refused whenever a list is set. Same user
  // only: `options.allowed_uids = {getuid()};`. See docs/SECURITY.md.
  std::vector<uid_t> allowed_uids;
  std::vector<gid_t> allowed_gids;
  // Group for filesystem socket files (with socket_file_mode, e.g. 0660,
  // lets one group in); unset: the process's group.
  std::optional<gid_t> socket_file_group;
  // Calls in flight on one connection; more get RESOURCE_EXHAUSTED.
  int max_calls_per_connection = 1000;
  // Connections at once; more are sent GOAWAY(RESOURCE_EXHAUSTED) and
  // closed at once.
  int max_connections = 4096;
  // A connection with no call in flight and no bytes received for this long
  // is sent GOAWAY and closed. Zero: never.
  absl::Duration idle_timeout = absl::Hours(1);
  // Keepalive (docs/PROTOCOL.md section 4.9): a connection from which
  // nothing has been received for keepalive_time is sent a PING; if still
  // nothing arrives within keepalive_timeout, the client is taken for gone:
  // the connection is closed and its calls cancelled (their handlers see
  // IsCancelled()). Infinite (the default), or either not positive: never. A
  // blocking client reads only while one of its threads waits in a call, so set
  // it for clients that keep a reader (a callback call, or
  // ChannelOptions::keepalive_time of their own) or for calls that outlast it.
  absl::Duration keepalive_time = absl::InfiniteDuration();
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Enforcement against clients that PING too often (as gRPC's
  // GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS): a PING that
  // comes less than min_time_between_pings after the previous one, with no
  // HEADERS or MESSAGE from the client between them, is a strike; the
  // strike after max_ping_strikes is answered with GOAWAY
  // (RESOURCE_EXHAUSTED, "too many pings") and the connection is closed.
  // Zero: any rate. A client's ChannelOptions::keepalive_time must be at
  // least this, or its quiet calls lose their connection.
  absl::Duration min_time_between_pings = absl::Minutes(5);
  int max_ping_strikes = 2;
  // Exit on idle, for a server started on demand (systemd socket
  // activation, see Listen()): once the server has had no open connection
  // and no call in flight for this long, it shuts itself down as
  // Shutdown() would, and Wait() returns. Zero: never.
  //
  // The decision is race-free for clients: the server first stops
  // accepting, and does so only if no connection waits in a listener's
  // queue and none is being accepted; a connection that comes later is
  // never accepted and then dropped. On a socket passed by systemd it stays
  // queued (systemd keeps the socket open) and systemd starts the next
  // instance for it; on a socket the server bound itself, the socket is
  // closed (its file removed) and such a client is refused, as after any
  // Shutdown(). A connection open but idle keeps the server running until
  // idle_timeout closes it.
  absl::Duration exit_when_idle = absl::ZeroDuration();
  // Bytes of replies waiting for a client that does not read; past this the
  // connection is closed (calls on it are cancelled).
  size_t max_write_buffer = 32 << 20;
  // Most blocking handlers running at once (a blocking streaming handler
  // holds its thread for as long as its call lasts); later calls wait for
  // one to end. The server runs at most max_threads + 2 threads. Callback
  // methods need none of these threads.
  int max_threads = 256;
  // TLS on every TCP listener (unix listeners stay plain): certificate,
  // key, client certificates and who may connect (transport/tls_options.h).
  // The files are read at Start() (a bad one fails it) and again when they
  // change (looked at, at most once a second, as connections come); a
  // change that does not load keeps the last good files, and is logged.
  // Each call's ServerContext::tls_peer() says what the client proved.
  std::optional<TlsServerOptions> tls;
  // A client must send its connection preface (after the TLS handshake,
  // with TLS) within this time of connecting, or it is dropped.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Where the server logs one line per notable event (a dropped
  // connection and why, a failed accept). Default: standard error.
  std::function<void(absl::string_view line)> log;
  // Hooks run around every call (see server/interceptor.h). Borrowed: they
  // must outlive the server.
  std::vector<ServerInterceptor*> interceptors;
  // Serve the reflection service (sockrpc.reflection.v1.Reflection, see
  // server/reflection_service.h), which lists the registered services and
  // hands out their .proto descriptors to tools such as `sockrpc`.
  bool enable_reflection = true;
  // File descriptors in messages (sockrpc.FileDescriptor fields, unix
  // sockets only; docs/PROTOCOL.md section 16): the most a client may pass
  // with one message (1 to 253), announced to every unix client; 0 (the
  // default, as Cap'n Proto's maxFdsPerMessage) accepts and sends none.
  // Off by default because every descriptor a client passes takes a slot
  // of this process's descriptor table until the handler closes it.
  uint32_t max_fds_per_message = 0;
  // The most descriptors one connection may have waiting in messages its
  // handlers have not read yet. A message beyond it fails its call with
  // RESOURCE_EXHAUSTED, its descriptors closed; the connection goes on.
  size_t max_fds_per_connection = 256;
  // Serve the health service (sockrpc.health.v1.Health, see
  // server/health_service.h): gRPC's health checking, which `sockrpc
  // health`, supervisors and container probes ask. On by default, unlike
  // gRPC's: it costs nothing until asked (no thread, one small map), and a
  // local server is most often run by a supervisor that wants a probe.
  // Server::health() sets what it reports. An application that registers
  // its own sockrpc.health.v1.Health is served that one instead.
  bool enable_health_service = true;
  // Serve the stats service (sockrpc.stats.v1.Stats, docs/PROTOCOL.md
  // section 18; `sockrpc stats ADDR`): per-method calls started, in flight
  // and finished by status code, latency histograms, bytes in and out, and
  // the open connections with their peers' credentials. Off by default:
  // when off, a call costs one untaken branch more; when on, a few relaxed
  // atomic additions and one clock read at its end.
  bool enable_stats_service = false;
  // Who may read the stats: a unix socket peer whose uid is the server's
  // effective uid, or one in stats_allowed_uids (root is not admitted
  // unless listed). Others, and every TCP peer, get PERMISSION_DENIED,
  // unless stats_allow_any_peer: then whoever may call the server (see
  // allowed_uids) may read them. See docs/SECURITY.md.
  std::vector<uid_t> stats_allowed_uids;
  bool stats_allow_any_peer = false;
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  // Shuts down (with an immediate deadline) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `service` before Start(). The service is borrowed and must
  // outlive the server. ALREADY_EXISTS if a service of the same name is
  // registered already.
  absl::Status RegisterService(Service* service);

  // Listen binds and listens on `address` (any form of
  // transport/address.h) now, so errors such as "address already in use by
  // a running server" surface here. Returns the bound address as text,
  // with the real port if `address` asked for port 0.
  //
  // Two more forms adopt listening sockets passed by systemd (socket
  // activation, sd_listen_fds(3); see transport/socket_activation.h):
  //   systemd:       every socket passed;
  //   systemd:NAME   those whose FileDescriptorName= (LISTEN_FDNAMES) is
  //                  NAME.
  // Returns the adopted socket's address (getsockname), or for several
  // "ADDRESS, ADDRESS (N sockets passed by systemd)". An adopted socket's
  // file is never removed: systemd owns it (and its mode: SocketMode=).
  // Sockets no Listen() takes stay open. Errors: FAILED_PRECONDITION when
  // nothing was passed (LISTEN_FDS unset) or it was passed to another
  // process (LISTEN_PID); NOT_FOUND for an unknown NAME (listing the names
  // passed); INVALID_ARGUMENT for a passed descriptor that is not a
  // listening unix/TCP stream socket; ALREADY_EXISTS for a socket adopted
  // already.
  absl::StatusOr<std::string> Listen(absl::string_view address);

  // Start begins accepting and serving on every listener.
  absl::Status Start();

  // ConnectInProcess gives a connection to this started server that needs
  // no address: one end of a fresh socketpair, the other served at once as
  // an accepted unix connection would be (peer "in-process", this
  // process's credentials, the same allow lists and max_connections). A
  // Start() without any Listen() serves only such connections. Pass it to
  // CreateChannelFromConnector() (client/channel.h) for a channel, as unit
  // tests of handlers do:
  //
  //   auto channel = sockrpc::CreateChannelFromConnector(
  //       "in-process", [&server](absl::Time) {
  //         return server.ConnectInProcess();
  //       });
  //
  // FAILED_PRECONDITION unless the server is running (started, not shutting
  // down), and in a child made by fork() (see "fork()" above; without
  // touching the parent's server); RESOURCE_EXHAUSTED when it has
  // max_connections already or the process is out of descriptors. Thread-safe.
  absl::StatusOr<Fd> ConnectInProcess();

  // Shutdown stops accepting new connections and calls (new calls get
  // UNAVAILABLE, clients get GOAWAY) and waits for the calls in flight to
  // finish: for ever with no argument, as gRPC's Shutdown() does, or until
  // `deadline`. Calls still running then are cancelled (their clients get
  // UNAVAILABLE; blocking handlers see IsCancelled(), reactors OnCancel(),
  // and a reactor that never finishes gets OnDone() anyway). Then it closes
  // every connection, removes socket files and stops the threads, and
  // returns when all of that is done. Shutdown(absl::Now()) ends at once;
  // the destructor does that.
  void Shutdown(absl::Time deadline = absl::InfiniteFuture());

  // Wait blocks until Shutdown() has completed.
  void Wait();

  // The health service (include "sockrpc/server/health_service.h"), for
  // the application to say which of its services serve:
  //   server.health()->SetServingStatus("pkg.Svc", false);
  // Null if ServerOptions::enable_health_service is false. Owned by the
  // server and valid for its life, before Start() too (a status set then
  // is kept at Start()). Shutdown() sets everything NOT_SERVING first.
  HealthService* health();

 private:
  std::unique_ptr<ServerRuntime> impl_;
  // transport/fork_generation.h's ForkGeneration() when made: a forked
  // child's ConnectInProcess() fails at once instead of using the parent's.
  const uint64_t fork_generation_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_H_
