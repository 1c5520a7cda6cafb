// Channel: a client's handle on one server address.
//
// A Channel connects lazily (on its first call), multiplexes the calls of
// any number of threads over one connection, and reconnects on the next
// call after the connection is lost (for example when the server
// restarts).
//
// Threads. A blocking call (and UnaryFuture::Get(), and the streams of
// client/client_streams.h) is carried by its own thread: a call that is
// alone in flight costs that thread one write and one read, with no
// hand-off to another thread; when several calls are in flight, one
// waiting caller at a time reads for all of them and hands replies to
// their threads. The callback API (client/client_callback.h) and
// UnaryFuture::Then() use the channel's event loop: one thread, started
// the first time one of them is used (blocking-only use never starts it),
// which runs their reactions and reads for their calls whenever no
// blocking caller is reading. Destroying the Channel ends the callback
// calls still in flight (OnDone(CANCELLED)) and stops that thread; see
// client/client_callback.h for destruction from inside a reaction.
//
// Thread-safe. Share one Channel (through std::shared_ptr) among the stubs
// and threads that talk to the same server.
//
// Using a channel after fork(). A child process never shares its parent's
// connection: the first use of the Channel in a child (a call, or
// WaitForConnected()) sees that the process forked (one relaxed atomic
// load per call compared with the channel's own; see
// transport/fork_generation.h) and, with ChannelOptions::after_fork ==
// kReconnect (the default), gives the child a state of its own: a new
// connection to the same target (a channel of CreateChannelFromConnector()
// asks its connector), made on the child's first call, and a new event
// loop, whose thread the callback API starts in the child on first use.
// With kFail the child's calls fail with FAILED_PRECONDITION instead. The
// parent is unaffected either way: its calls in flight at fork() time end
// with their own replies, and its later calls use its connection.
// What the child does with the parent's state: nothing that the parent
// could see. The parent's threads do not exist in the child and the locks
// they held stay locked, so the child abandons the old state without
// locking it, joining anything or running a destructor: it is kept
// reachable (so LeakSanitizer sees no leak) and never used again; the
// child's copies of its descriptors (the current connection's socket and
// eventfd, the event loop's epoll instance and eventfd) are replaced with
// a dead socket by dup3(), which closes the child's reference to the
// parent's socket and epoll file descriptions (no shutdown(), no
// epoll_ctl(), no read or write) while keeping the numbers taken, so
// nothing stale can ever reach a descriptor the child opens later. An
// older connection still alive in the parent only for its calls in flight
// keeps its socket open in the child until exit or exec (every sockrpc
// descriptor is close-on-exec). A call the child inherited (a ClientCall
// begun before fork(), in the child's memory) fails there: Read() and
// Write() return false and Finish() says FAILED_PRECONDITION, without
// touching the parent's connection; callback calls of the parent never
// run in the child (their reactors get no OnDone there), and neither
// WhenDone() nor UnaryFuture::Then() may be used in the child on a call
// begun before fork() (they would wait on the parent's event loop). Only
// fork() is noticed (pthread_atfork), and the child must not use the
// Channel from an atfork handler that runs before fork() returns.
#ifndef SOCKRPC_CLIENT_CHANNEL_H_
#define SOCKRPC_CLIENT_CHANNEL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "sockrpc/client/client_call.h"
#include "sockrpc/client/client_context.h"
#include "sockrpc/client/interceptor.h"
#include "sockrpc/transport/fd.h"
#include "sockrpc/transport/frame.h"
#include "sockrpc/transport/metadata.h"
#include "sockrpc/transport/tls_options.h"

namespace sockrpc {

class Channel;
class ClientConnection;
class ReloadingTlsContext;
class TlsSession;
class ClientEventLoop;
class ClientCallState;
namespace internal {
class ClientCallbackCall;
class ClientReactorBase;
}  // namespace internal

// What a channel does when it is used in a child process of the process
// that made it (see "Using a channel after fork()" above).
enum class AfterFork {
  // The child's calls use a new connection of the child's own.
  kReconnect,
  // The child's calls fail with FAILED_PRECONDITION: for programs where a
  // forked child should never talk to the server through an inherited
  // channel (it should make its own).
  kFail,
};

// How a channel whose target stands for several servers (a name with
// several addresses, or a list: see transport/address.h) spreads its calls.
enum class LoadBalancing {
  // One connection, to the first address that takes it (in the order the
  // target or the resolver gives); the next when it is lost.
  kPickFirst,
  // A connection to every address, each call on the next one that is up
  // (in turn); an address that refuses is tried again after a backoff
  // (ChannelOptions::reconnect_backoff). At most kMaxBackends addresses.
  // Connections are made in the background, a thread per attempt (within
  // connect_timeout; the channel's destructor cancels them): a call waits
  // for one only while no backend is up.
  kRoundRobin,
};

// Reconnection backoff of a round_robin backend, as gRPC's connection
// backoff: after a failed attempt the next waits `initial`, then each
// `multiplier` times the last, at most `max`, each wait randomized by up to
// +-`jitter` of itself. A connection found lost (when a call's turn
// reaches it) a second or more after it was made is tried again at once,
// and its backoff starts afresh; one found lost sooner (a server that
// takes connections and closes them at once, as a full one does) counts
// as a failed attempt, so its backoff goes on growing, unless one of the
// channel's own calls broke it (a deadline mid-write).
struct ReconnectBackoff {
  absl::Duration initial = absl::Seconds(1);
  double multiplier = 1.6;
  double jitter = 0.2;
  absl::Duration max = absl::Seconds(120);
};

// Options for CreateChannel.
struct ChannelOptions {
  // Largest frame payload this client sends or accepts. A request larger
  // than this fails with RESOURCE_EXHAUSTED without being sent; a reply
  // larger than this fails its call with RESOURCE_EXHAUSTED.
  uint32_t max_frame_size = kDefaultMaxFrameSize;
  // Largest metadata of one direction of a call (see transport/metadata.h):
  // larger request metadata fails the call before it is sent, larger reply
  // metadata fails it when it arrives, with RESOURCE_EXHAUSTED.
  size_t max_metadata_size = kDefaultMaxMetadataSize;
  // How long one connection attempt may take (bounded also by the call's
  // own deadline), and how long the server then has to send its preface:
  // a connection counts as established only once the preface has arrived.
  // A call waits for it at most this long from when it starts waiting (a
  // blocking caller as it reads or waits for socket room to write, a
  // callback call through its timer on the event loop); then the
  // connection fails and its calls end UNAVAILABLE ("server at ADDR sent
  // no preface within 20s"), whatever their own deadlines: a server so
  // loaded that it accepts later than this fails them too.
  absl::Duration connect_timeout = absl::Seconds(20);
  // Keepalive (docs/PROTOCOL.md section 4.9): while a call waits for the
  // server and nothing has arrived for keepalive_time, the client sends a
  // PING; if still nothing arrives within keepalive_timeout, the server is
  // taken for gone: the connection is closed and its calls end UNAVAILABLE
  // ("no answer to a keepalive PING within 20s"), and the next call makes
  // a new connection. It finds a peer that died or a network that dropped
  // out, which TCP itself notices only after minutes. Infinite (the
  // default), or either not positive: never. An idle connection (no call
  // waiting) sends none. A sockrpc server takes at most one PING per
  // ServerOptions::min_time_between_pings (5 minutes by default) while no
  // call starts: stay at or above that, or raise it on the server.
  absl::Duration keepalive_time = absl::InfiniteDuration();
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Hooks run around every call (see client/interceptor.h). Borrowed: they
  // must outlive the channel.
  std::vector<ClientInterceptor*> interceptors;
  // Batching, for a thread that keeps many calls in flight. When true, a
  // call begun with StartCall (an asynchronous unary call, any streaming
  // call) while the server still has at least 4 earlier calls of this
  // channel to answer (2 over TCP, where a send costs more), and at least
  // twice as many as are held already, and while no thread waits on the
  // channel, does not write its opening frames at once: they are held, and
  // all held calls go out together, in one write, as soon as any thread
  // waits on this channel (a blocking call, Get(), Wait*(), Read(),
  // Finish()), writes on it, or calls Flush(), or once 16 KiB are held.
  // That saves a system call per call and lets the server take many calls
  // in one read; the price is that a held call reaches the server only at
  // one of those points. Off by default: every call is written as it
  // starts, as in gRPC.
  bool batch_call_starts = false;
  // File descriptors in messages (sockrpc.FileDescriptor fields, unix
  // sockets only; docs/PROTOCOL.md section 16): the most a server may pass
  // with one reply (1 to 253), announced to the server in SETTINGS; 0 (the
  // default) accepts none. Sending descriptors needs no option here, only a
  // server that accepts them (ClientContext::AttachFd()).
  uint32_t max_fds_per_message = 0;
  // What the channel does in a forked child: reconnect (the default) or
  // fail its calls with FAILED_PRECONDITION.
  AfterFork after_fork = AfterFork::kReconnect;
  // Several servers behind one target (see LoadBalancing): how calls are
  // spread, how soon a refusing server is tried again, and how often the
  // target's name is resolved again (round_robin, in the background; also
  // whenever no backend can be reached).
  LoadBalancing load_balancing = LoadBalancing::kPickFirst;
  ReconnectBackoff reconnect_backoff;
  absl::Duration resolve_interval = absl::Seconds(30);
  // TLS for TCP connections (unix sockets stay plain): trust roots, a
  // client certificate, the name to check (transport/tls_options.h). The
  // files are read by CreateChannel() (a bad one fails it). The handshake
  // is part of connecting (connect_timeout); one that fails is the call's
  // UNAVAILABLE error ("connection to ADDR failed: TLS handshake failed:
  // certificate verify failed: ..."), and with round_robin that backend's
  // backoff.
  std::optional<TlsChannelOptions> tls;
};

// ChannelConnector makes a channel's connections when they come from
// somewhere other than an address: it returns a new connected,
// non-blocking stream socket by `deadline`, or the reason it cannot (the
// call that needed the connection fails with that status, as UNAVAILABLE
// unless it is DEADLINE_EXCEEDED or UNAVAILABLE already).
using ChannelConnector = std::function<absl::StatusOr<Fd>(absl::Time deadline)>;

// One server a round_robin channel connects to: its name (messages) and
// how to connect to it: a connector as ChannelConnector, whose wait for the
// server also ends, CANCELLED, once `cancel_fd` is readable (the channel
// going away). ChannelResolver lists them afresh each time it is called (a
// DNS name resolved again).
struct ChannelBackend {
  std::string name;
  std::function<absl::StatusOr<Fd>(absl::Time deadline, int cancel_fd)>
      connector;
};
using ChannelResolver =
    std::function<absl::StatusOr<std::vector<ChannelBackend>>()>;

class Channel {
 public:
  // Only CreateChannel() and CreateChannelFromConnector() make a Key, so
  // only they construct channels (with std::make_shared, which needs a
  // public constructor).
  class Key {
   private:
    Key() = default;
    friend absl::StatusOr<std::shared_ptr<Channel>> CreateChannel(
        absl::string_view target, const ChannelOptions& options);
    friend absl::StatusOr<std::shared_ptr<Channel>> CreateChannelFromConnector(
        std::string name, ChannelConnector connector,
        const ChannelOptions& options);
  };

  // `target` names the server in target() and messages; `connector` makes
  // each connection, or with `resolver` (round_robin) the resolver's
  // backends do.
  // With `tls`, TCP connections speak TLS, checking `tls_server_name` (if
  // empty: the IP address each connection reached, PeerAddressOf()).
  Channel(Key, std::string target, ChannelConnector connector,
          ChannelOptions options, ChannelResolver resolver = nullptr,
          std::shared_ptr<ReloadingTlsContext> tls = nullptr,
          std::string tls_server_name = "");
  // The most backends a round_robin channel uses (the first of a longer
  // list).
  static constexpr size_t kMaxBackends = 64;
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The server address, as text (the name given to
  // CreateChannelFromConnector()).
  std::string target() const { return target_; }

  // WaitForConnected connects now, unless the channel holds a usable
  // connection already, so that a server that cannot be reached is found
  // before the first call (as gRPC's Channel::WaitForConnected). It tries
  // once: OK once connected; UNAVAILABLE if the server cannot be reached;
  // DEADLINE_EXCEEDED if `deadline` passes first. Nothing is written: the
  // first call still sends the preface. Thread-safe. With round_robin it
  // connects every backend that is down and not in backoff, and returns
  // once each attempt has ended or `deadline` has passed: OK if a backend
  // is up (the calls that follow then take turns across all that are).
  absl::Status WaitForConnected(absl::Time deadline);

  // CallUnary makes one unary call of `method` ("/package.Service/Method")
  // and blocks until it ends. On OK, `*reply` holds the server's reply.
  // `context` may be null (no deadline, no metadata); if not, it must stay
  // alive until the call returns and receives the server's metadata.
  // Errors: the server's status; UNAVAILABLE if the server cannot be
  // reached or the connection breaks; DEADLINE_EXCEEDED; RESOURCE_EXHAUSTED
  // for a message over max_frame_size; INTERNAL for a reply that does not
  // parse.
  absl::Status CallUnary(ClientContext* context, absl::string_view method,
                         const google::protobuf::MessageLite& request,
                         google::protobuf::MessageLite* reply);

  // StartCall begins a call of `method` of any kind and returns it at once
  // (never null; a call that cannot start fails on its first Read() or
  // Write(), and Finish() says why). If `request` is given, it goes out with
  // the call's first frames and the client half-closes: the form of unary
  // and server-streaming calls. `context` may be null; if not, it must
  // outlive the call.
  std::unique_ptr<ClientCall> StartCall(
      ClientContext* context, absl::string_view method,
      const google::protobuf::MessageLite* request = nullptr);

  // With ChannelOptions::batch_call_starts: writes the calls held so far
  // now, without waiting for anything else (blocks only while the socket
  // is full). Does nothing otherwise.
  void Flush();

  // The callback API (client/client_callback.h), for generated code.
  //
  // CallbackUnaryCall makes a unary call of `method` and returns at once;
  // `done` runs on the channel's event loop with the call's status once it
  // has ended, `*reply` then holding the reply if OK. `request` is
  // serialized before this returns; `reply` and `context` (may be null)
  // must stay alive until `done` runs.
  void CallbackUnaryCall(ClientContext* context, absl::string_view method,
                         const google::protobuf::MessageLite& request,
                         google::protobuf::MessageLite* reply,
                         std::function<void(absl::Status)> done);
  // BindReactor binds `reactor` to a new call of `method`, which its
  // StartCall() starts. `request` (server streaming; null otherwise) must
  // stay alive until StartCall() returns; `reply` (client streaming; null
  // otherwise) receives the one reply and, like `context` (may be null),
  // must stay alive until the reactor's OnDone().
  void BindReactor(ClientContext* context, absl::string_view method,
                   const google::protobuf::MessageLite* request,
                   google::protobuf::MessageLite* reply,
                   internal::ClientReactorBase* reactor);

 private:
  friend class internal::ClientCallbackCall;  // OpenCallbackStream()

  // Returns the current connection, connecting first if there is none or
  // the last one broke; with a resolver, the next backend's
  // (PickBackend()). Thread-safe.
  absl::StatusOr<std::shared_ptr<ClientConnection>> GetConnection(
      absl::Time deadline);
  // GetConnection()'s slow path (pick_first): a new connection, with
  // state.mu held throughout.
  struct State;
  absl::StatusOr<std::shared_ptr<ClientConnection>> ReconnectLocked(
      State& state, absl::Time deadline);
  // round_robin (client/channel_backends.cc): the connection of the next
  // backend in turn that is up. Every backend it passes that is down and
  // not in backoff is connected in the background (ConnectInBackground());
  // a call waits for those attempts only while no backend is up.
  // UNAVAILABLE naming each backend and why when none can be reached.
  absl::StatusOr<std::shared_ptr<ClientConnection>> PickBackend(
      State& state, absl::Time deadline);
  // A new connection from `connector` by `deadline`; with TLS over TCP,
  // its handshake done too (the session in `*tls`; failures name `name`),
  // cancelled once `cancel_fd` (if not -1) is readable.
  absl::StatusOr<Fd> Connect(const ChannelConnector& connector,
                             absl::string_view name, absl::Time deadline,
                             std::unique_ptr<TlsSession>* tls,
                             int cancel_fd = -1) const;
  // DEADLINE_EXCEEDED: the call's deadline passed while it connected.
  absl::Status ConnectDeadlineExceeded() const;
  // WaitForConnected() with round_robin: PickBackend(), then an attempt
  // for every backend still down, and the wait for them.
  absl::Status ConnectEveryBackend(State& state, absl::Time deadline);
  // Starts a thread that connects to backend `index` (ConnectInBackground())
  // and marks the backend connecting, unless the channel is closing; if no
  // thread can be made, the backend backs off.
  void StartBackendConnectLocked(State& state, size_t index);
  // One attempt to connect to `backend`, within
  // ChannelOptions::connect_timeout, on a thread of its own; records the
  // connection, or the failure and the backoff that follows, and wakes the
  // calls waiting for a backend.
  void ConnectInBackground(State& state, const ChannelBackend& backend,
                           int cancel_fd);
  // The destructor's two steps for round_robin's background threads:
  // first no new one starts and the connection attempts waiting for their
  // server end (CANCELLED; calls waiting for a backend fail UNAVAILABLE,
  // "closing"); later, once no call can use the state, each is joined (a
  // listing of the target's name is waited for: getaddrinfo() cannot be
  // cancelled).
  static void CancelBackgroundWork(State& state);
  static void JoinBackgroundWork(State& state);
  // Opens a call: claims `context` (if any), checks its deadline, makes the
  // call's state on the current connection and has `open` send the call
  // (it returns whether the server certainly never saw it: then once more,
  // on a fresh connection). Returns the call's state, done already if
  // `open` failed it, or why no call could start (a context used before, a
  // deadline passed, no connection, cancelled). A callback call without a
  // context keeps its state in itself (ClientCallbackCall::own_stream_):
  // nothing but the connection's table and the call can reach it, and the
  // table lets go of it before the call can see it done, so the shared_ptr
  // returned owns nothing (as CallUnaryWithoutContext()'s).
  absl::StatusOr<std::shared_ptr<ClientCallState>> OpenCall(
      ClientContext* context, internal::ClientCallbackCall* callback,
      absl::FunctionRef<bool(ClientConnection&,
                             const std::shared_ptr<ClientCallState>&)>
          open);
  // The state of a call that failed before it started: done, with `status`.
  static std::shared_ptr<ClientCallState> FailedCall(ClientContext* context,
                                                     absl::Status status);
  // The three uses of OpenCall(): a whole blocking unary call, returning its
  // status (`context` not null: CallUnary() sends calls without one to
  // CallUnaryWithoutContext()); a call StartCall() returns (sending `request`,
  // if given, and half-closing); and, in OpenCallbackStream(), a callback call.
  absl::Status CallUnaryNow(ClientContext* context, absl::string_view method,
                            const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* reply);
  // CallUnary() with the channel's interceptors (their hooks around
  // CallUnaryNow()).
  absl::Status CallUnaryIntercepted(
      ClientContext* context, absl::string_view method,
      const google::protobuf::MessageLite& request,
      google::protobuf::MessageLite* reply);
  // CallUnaryNow() for a call with no ClientContext: nothing but its
  // connection's table of calls can reach such a call, and the table lets
  // go of it, under the connection's mutex, before the caller can see it
  // done (ClientConnection::EndStreamLocked(), FailLocked()). So its state
  // lives on the caller's stack, with no allocation and no shared count.
  absl::Status CallUnaryWithoutContext(
      absl::string_view method, const google::protobuf::MessageLite& request,
      google::protobuf::MessageLite* reply);
  std::shared_ptr<ClientCallState> StartStream(
      ClientContext* context, absl::string_view method,
      const google::protobuf::MessageLite* request);
  // A callback call of `method` made and adopted by the event loop (or,
  // if the loop refused, set to fail on its own thread at Start()): bound
  // to `reactor`, or without one a unary call that runs `unary_done`.
  internal::ClientCallbackCall* NewCallbackCall(
      ClientContext* context, absl::string_view method,
      const google::protobuf::MessageLite* request,
      google::protobuf::MessageLite* reply,
      internal::ClientReactorBase* reactor,
      std::function<void(absl::Status)> unary_done);
  // Opens the stream of the started callback call `call` (interceptors'
  // OnCallStart first). Off the loop's thread, BeginCallbackOpen() first,
  // under the call's lock while it still sees the Channel: the destructor
  // waits until the stream is open. `on_loop`: started on the event loop's
  // thread, whose Channel outlives the reaction without that count (see
  // ClientCallbackCall::Start()); its frames are held for the end of the
  // loop's turn (ClientConnection::Open()'s `hold_for_loop`).
  void BeginCallbackOpen();
  std::shared_ptr<ClientCallState> OpenCallbackStream(
      internal::ClientCallbackCall* call, bool on_loop);

  // The channel's state in this process: state_, after replacing it first
  // if this is a forked child (a relaxed load of ForkGeneration() and an
  // acquire load of generation_ when it is not).
  State* state();
  // In a forked child: abandons the parent's state and makes the child's;
  // one thread does it, others of the child wait for it (never on a lock
  // of the parent's threads).
  State* StateAfterFork(uint64_t generation);
  // Closes the child's copies of `old`'s descriptors (see above) and keeps
  // `old` reachable for ever without using it.
  static void Abandon(State* old);

  const std::string target_;
  const ChannelConnector connector_;
  const ChannelOptions options_;
  const ChannelResolver resolver_;  // round_robin only
  // Null without TLS; its files are re-read when they change.
  const std::shared_ptr<ReloadingTlsContext> tls_;
  const std::string tls_server_name_;
  // Owned (deleted by the destructor in the process that made it; an
  // abandoned one is never deleted). Replaced only in a forked child.
  std::atomic<State*> state_;
  // The ForkGeneration() state_ belongs to; stored after state_ (release).
  std::atomic<uint64_t> generation_;
  // The generation whose state a thread of the child is making, claimed by
  // compare-and-swap so that one thread makes it.
  std::atomic<uint64_t> claimed_generation_;
};

// CreateChannel returns a channel to `target` (see transport/address.h for
// the forms). It does not connect yet; a bad target is INVALID_ARGUMENT.
absl::StatusOr<std::shared_ptr<Channel>> CreateChannel(
    absl::string_view target, const ChannelOptions& options = {});

// CreateChannelFromConnector returns a channel whose connections come from
// `connector`: for example Server::ConnectInProcess() of a server in this
// process (server/server.h), or a socket another process handed over. It
// behaves as any channel: it connects on its first call, and calls
// `connector` again for a new connection after one is lost. `name` stands
// for the server in target() and in messages. INVALID_ARGUMENT if
// `connector` is empty.
absl::StatusOr<std::shared_ptr<Channel>> CreateChannelFromConnector(
    std::string name, ChannelConnector connector,
    const ChannelOptions& options = {});

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CHANNEL_H_
