#include "client/channel.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "client/channel_state.h"
#include "client/client_call_state.h"
#include "client/client_callback_call.h"
#include "client/client_connection.h"
#include "client/client_event_loop.h"
#include "client/interceptor_hooks.h"
#include "transport/fork_generation.h"
#include "transport/socket.h"
#include "transport/status_macros.h"
#include "transport/sync.h"
#include "transport/tls_context.h"
#include "transport/tls_session.h"

namespace sockrpc {

Channel::Channel(Key, std::string target, ChannelConnector connector,
                 ChannelOptions options, ChannelResolver resolver,
                 std::shared_ptr<ReloadingTlsContext> tls,
                 std::string tls_server_name)
    : target_(std::move(target)),
      connector_(std::move(connector)),
      options_(std::move(options)),
      resolver_(std::move(resolver)),
      tls_(std::move(tls)),
      tls_server_name_(std::move(tls_server_name)),
      state_(new State()),
      generation_(WatchForks()),
      claimed_generation_(generation_.load(std::memory_order_relaxed)) {}

Channel::~Channel() {
  State* state = state_.load(std::memory_order_acquire);
  if (generation_.load(std::memory_order_acquire) != ForkGeneration()) {
    // A forked child that never used the channel: the state is the
    // parent's; abandon it, as a call would have.
    Abandon(state);
    return;
  }
  // round_robin: no connection attempt or listing starts from now on, and
  // those waiting for a server end, so that a StartCall() waiting for a
  // backend (below) does not wait for connect_timeout.
  CancelBackgroundWork(*state);
  // Callback calls still in flight end (OnDone) before the loop stops; see
  // client/client_callback.h.
  ClientEventLoop::Shutdown(state->loop);
  // Calls no longer see the Channel (the loop abandoned them), but a
  // StartCall() may still be opening one with it (connecting, at most).
  {
    MutexLock lock(&state->mu);
    state->mu.Await([state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
      return state->opening == 0;
    });
  }
  JoinBackgroundWork(*state);
  delete state;
}

Channel::State* Channel::state() {
  const uint64_t generation = ForkGeneration();
  if (ABSL_PREDICT_TRUE(generation_.load(std::memory_order_acquire) ==
                        generation)) {
    return state_.load(std::memory_order_relaxed);
  }
  return StateAfterFork(generation);
}

Channel::State* Channel::StateAfterFork(uint64_t generation) {
  uint64_t claimed = claimed_generation_.load(std::memory_order_acquire);
  while (claimed != generation) {
    if (!claimed_generation_.compare_exchange_weak(claimed, generation,
                                                   std::memory_order_acq_rel)) {
      continue;  // `claimed` reloaded
    }
    // This thread makes the child's state.
    Abandon(state_.load(std::memory_order_relaxed));
    auto* fresh = new State();
    if (options_.after_fork == AfterFork::kFail) {
      fresh->fork_failure = absl::FailedPreconditionError(
          absl::StrCat("channel to ", target_, " created in process ",
                       state_.load(std::memory_order_relaxed)->pid,
                       " used after fork() in child ", fresh->pid,
                       "; create a new channel in the child, or set "
                       "ChannelOptions::after_fork = AfterFork::kReconnect"));
    }
    state_.store(fresh, std::memory_order_relaxed);
    generation_.store(generation, std::memory_order_release);
    return fresh;
  }
  // Another thread of this child is making it: wait (rare, and short).
  while (generation_.load(std::memory_order_acquire) != generation) {
    std::this_thread::yield();
  }
  return state_.load(std::memory_order_relaxed);
}

void Channel::Abandon(State* old) {
  std::vector<int> fds;
  auto detach = [&fds](const std::atomic<ClientConnection*>& slot) {
    ClientConnection* connection = slot.load(std::memory_order_acquire);
    if (connection == nullptr) return;
    fds.push_back(connection->fd());
    fds.push_back(connection->wake_fd());
    fds.push_back(connection->ring_fd_for_fork());  // -1 if none
  };
  detach(old->connection_for_fork);
  for (const auto& slot : old->backends_for_fork) detach(slot);
  fds.push_back(old->cancel_connects_for_fork.load(std::memory_order_acquire));
  fds.push_back(old->loop->epoll_fd_for_fork());
  fds.push_back(old->loop->wake_fd_for_fork());
  fds.push_back(old->loop->ring_fd_for_fork());  // -1 if none
  DetachInheritedDescriptors(fds);
  // Every state a forked child abandoned, kept reachable from here so that
  // LeakSanitizer does not report it. Never freed: its destructors would
  // lock the parent's mutexes and join its threads. Process-wide because
  // abandoned states outlive their channels; pushed to without a lock.
  static std::atomic<State*> abandoned{nullptr};
  old->next_abandoned = abandoned.load(std::memory_order_relaxed);
  while (!abandoned.compare_exchange_weak(old->next_abandoned, old,
                                          std::memory_order_release)) {
  }
}

void Channel::BeginCallbackOpen() {
  State& state = *this->state();
  MutexLock lock(&state.mu);
  ++state.opening;
}

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::GetConnection(
    absl::Time deadline) {
  State& state = *this->state();
  if (ABSL_PREDICT_FALSE(!state.fork_failure.ok())) return state.fork_failure;
  if (resolver_ != nullptr) return PickBackend(state, deadline);
  MutexLock lock(&state.mu);
  std::shared_ptr<ClientConnection>& connection = state.connection;
  if (connection != nullptr && connection->TakesNewCalls()) return connection;
  return ReconnectLocked(state, deadline);
}

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::ReconnectLocked(
    State& state, absl::Time deadline) {
  std::shared_ptr<ClientConnection>& connection = state.connection;
  state.connection_for_fork.store(nullptr, std::memory_order_release);
  connection.reset();
  absl::Time connect_deadline =
      std::min(deadline, absl::Now() + options_.connect_timeout);
  std::unique_ptr<TlsSession> tls;
  absl::StatusOr<Fd> fd = Connect(connector_, target_, connect_deadline, &tls);
  if (!fd.ok()) {
    if (absl::IsDeadlineExceeded(fd.status()) && connect_deadline == deadline) {
      return ConnectDeadlineExceeded();
    }
    if (absl::IsUnavailable(fd.status())) return fd.status();
    return absl::UnavailableError(fd.status().message());
  }
  connection = std::make_shared<ClientConnection>(
      *std::move(fd), target_, options_, state.loop, std::move(tls));
  state.connection_for_fork.store(connection.get(), std::memory_order_release);
  return connection;
}

absl::StatusOr<Fd> Channel::Connect(const ChannelConnector& connector,
                                    absl::string_view name, absl::Time deadline,
                                    std::unique_ptr<TlsSession>* tls,
                                    int cancel_fd) const {
  SOCKRPC_ASSIGN_OR_RETURN(Fd fd, connector(deadline));
  if (tls_ == nullptr || IsUnixSocket(fd.get())) return fd;
  // (A client has no log: a renewal that does not load keeps the last
  // good files, and the next change is tried again.)
  std::string ignored_reload_error;
  // Without a name: the address this connection reached.
  const std::string server_name =
      tls_server_name_.empty()
          ? PeerAddressOf(fd.get()).value_or(Address()).host
          : tls_server_name_;
  SOCKRPC_ASSIGN_OR_RETURN(
      *tls,
      TlsSession::Create(tls_->Current(absl::Now(), &ignored_reload_error),
                         fd.get(), server_name));
  absl::Status done = (*tls)->HandshakeUntil(deadline, cancel_fd);
  if (!done.ok()) {
    tls->reset();
    return absl::Status(done.code(), absl::StrCat("connection to ", name,
                                                  " failed: ", done.message()));
  }
  return fd;
}

absl::Status Channel::WaitForConnected(absl::Time deadline) {
  State& state = *this->state();
  if (resolver_ != nullptr && state.fork_failure.ok()) {
    return ConnectEveryBackend(state, deadline);
  }
  return GetConnection(deadline).status();
}

namespace {

// Runs the interceptors' OnCallStart in order; returns how many ran (the
// ones whose OnCallEnd is due) and the first failure in `*status`.
size_t StartInterceptors(const std::vector<ClientInterceptor*>& interceptors,
                         absl::string_view method, ClientContext& context,
                         absl::Status* status) {
  size_t started = 0;
  while (started < interceptors.size() && status->ok()) {
    *status = interceptors[started++]->OnCallStart(method, context);
  }
  return started;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ClientCallState>> Channel::OpenCall(
    ClientContext* context, internal::ClientCallbackCall* callback,
    absl::FunctionRef<bool(ClientConnection&,
                           const std::shared_ptr<ClientCallState>&)>
        open) {
  const absl::Time deadline =
      context != nullptr ? context->deadline() : absl::InfiniteFuture();
  if (context != nullptr && !context->Claim()) {
    return absl::FailedPreconditionError(
        "this ClientContext served a call already: use one per call");
  }
  if (deadline != absl::InfiniteFuture() && deadline <= absl::Now()) {
    return absl::DeadlineExceededError(
        "deadline exceeded before the call started");
  }
  // A call the server certainly never saw is tried once more, on a fresh
  // connection (the old one was closed, e.g. by a server restart).
  for (int attempt = 0;; ++attempt) {
    SOCKRPC_ASSIGN_OR_RETURN(std::shared_ptr<ClientConnection> connection,
                             GetConnection(deadline));
    std::shared_ptr<ClientCallState> call;
    if (callback != nullptr && context == nullptr) {
      // (A second attempt replaces the first's state, which its connection
      // let go of when it ended it.)
      ClientCallState& own = callback->own_stream_.emplace(
          std::move(connection), nullptr, deadline);
      call = std::shared_ptr<ClientCallState>(
          std::shared_ptr<ClientCallState>(), &own);
    } else {
      call = std::make_shared<ClientCallState>(std::move(connection), context,
                                               deadline);
    }
    ClientConnection& opened = *call->connection();
    // Before the context (TryCancel()) or the connection shares it.
    if (callback != nullptr) call->callback_ = callback;
    // Attach the call to its context so that TryCancel() reaches it.
    if (context != nullptr && !context->AttachStream(call)) {
      return absl::CancelledError("cancelled by the client");
    }
    const bool retryable = open(opened, call);
    if (!retryable || attempt == 1) return call;
  }
}

std::shared_ptr<ClientCallState> Channel::FailedCall(ClientContext* context,
                                                     absl::Status status) {
  return std::make_shared<ClientCallState>(
      nullptr, context,
      context != nullptr ? context->deadline() : absl::InfiniteFuture(),
      std::move(status));
}

absl::Status Channel::CallUnaryNow(ClientContext* context,
                                   absl::string_view method,
                                   const google::protobuf::MessageLite& request,
                                   google::protobuf::MessageLite* reply) {
  absl::Status status;
  absl::StatusOr<std::shared_ptr<ClientCallState>> call = OpenCall(
      context, /*callback=*/nullptr,
      [&](ClientConnection& connection,
          const std::shared_ptr<ClientCallState>& state) {
        bool retryable = false;
        status = connection.CallUnary(state, method, request, reply,
                                      &retryable);
        return retryable;
      });
  return call.ok() ? status : call.status();
}

absl::Status Channel::CallUnaryWithoutContext(
    absl::string_view method, const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* reply) {
  for (int attempt = 0;; ++attempt) {
    SOCKRPC_ASSIGN_OR_RETURN(std::shared_ptr<ClientConnection> connection,
                             GetConnection(absl::InfiniteFuture()));
    ClientConnection& opened = *connection;
    ClientCallState state(std::move(connection), /*context=*/nullptr,
                          absl::InfiniteFuture());
    // Owns nothing: copies of it cost no atomic count, and the last one
    // (the connection's table's) is gone before CallUnary() returns.
    const std::shared_ptr<ClientCallState> unowned(
        std::shared_ptr<ClientCallState>(), &state);
    bool retryable = false;
    absl::Status status =
        opened.CallUnary(unowned, method, request, reply, &retryable);
    if (!retryable || attempt == 1) return status;
  }
}

std::shared_ptr<ClientCallState> Channel::StartStream(
    ClientContext* context, absl::string_view method,
    const google::protobuf::MessageLite* request) {
  absl::StatusOr<std::shared_ptr<ClientCallState>> call = OpenCall(
      context, /*callback=*/nullptr,
      [&](ClientConnection& connection,
          const std::shared_ptr<ClientCallState>& state) {
        return connection.Open(state, method, request);
      });
  return call.ok() ? *std::move(call)
                   : FailedCall(context, std::move(call).status());
}

absl::Status Channel::CallUnary(ClientContext* context,
                                absl::string_view method,
                                const google::protobuf::MessageLite& request,
                                google::protobuf::MessageLite* reply) {
  if (ABSL_PREDICT_TRUE(options_.interceptors.empty())) {
    return context == nullptr ? CallUnaryWithoutContext(method, request, reply)
                              : CallUnaryNow(context, method, request, reply);
  }
  return CallUnaryIntercepted(context, method, request, reply);
}

absl::Status Channel::CallUnaryIntercepted(
    ClientContext* context, absl::string_view method,
    const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* reply) {
  ClientContext local_context;
  if (context == nullptr) context = &local_context;
  const absl::Time start = absl::Now();
  absl::Status status;
  size_t started =
      StartInterceptors(options_.interceptors, method, *context, &status);
  const internal::Interceptors interceptors =
      absl::MakeConstSpan(options_.interceptors).first(started);
  if (status.ok()) {
    status = internal::RunRequestHooks(interceptors, method, *context, request);
  }
  if (status.ok()) status = CallUnaryNow(context, method, request, reply);
  if (status.ok()) {
    status = internal::RunReplyHooks(interceptors, method, *context, *reply);
  }
  internal::RunStatusHooks(interceptors, method, *context, status);
  const absl::Duration elapsed = absl::Now() - start;
  for (size_t i = started; i-- > 0;) {
    options_.interceptors[i]->OnCallEnd(method, *context, status, elapsed);
  }
  return status;
}

std::unique_ptr<ClientCall> Channel::StartCall(
    ClientContext* context, absl::string_view method,
    const google::protobuf::MessageLite* request) {
  if (options_.interceptors.empty()) {
    // Nothing to run around the call: no context of our own, no clock.
    return std::unique_ptr<ClientCall>(
        new ClientCall(StartStream(context, method, request), nullptr, "", {},
                       absl::InfinitePast(), state()->loop));
  }
  std::unique_ptr<ClientContext> owned_context;
  if (context == nullptr) {
    owned_context = std::make_unique<ClientContext>();
    context = owned_context.get();
  }
  const absl::Time start = absl::Now();
  absl::Status status;
  size_t started =
      StartInterceptors(options_.interceptors, method, *context, &status);
  if (status.ok() && request != nullptr) {
    status = internal::RunRequestHooks(
        absl::MakeConstSpan(options_.interceptors).first(started), method,
        *context, *request);
  }
  std::shared_ptr<ClientCallState> stream =
      status.ok() ? StartStream(context, method, request)
                  : FailedCall(context, status);
  std::vector<ClientInterceptor*> to_end(
      options_.interceptors.begin(), options_.interceptors.begin() + started);
  return std::unique_ptr<ClientCall>(new ClientCall(
      std::move(stream), std::move(owned_context), std::string(method),
      std::move(to_end), start, state()->loop));
}

// ---- The callback API ----

void Channel::CallbackUnaryCall(ClientContext* context,
                                absl::string_view method,
                                const google::protobuf::MessageLite& request,
                                google::protobuf::MessageLite* reply,
                                std::function<void(absl::Status)> done) {
  // No reactor: the call runs `done` itself, its one reaction.
  NewCallbackCall(context, method, &request, reply, /*reactor=*/nullptr,
                  std::move(done))
      ->Start();
}

void Channel::BindReactor(ClientContext* context, absl::string_view method,
                          const google::protobuf::MessageLite* request,
                          google::protobuf::MessageLite* reply,
                          internal::ClientReactorBase* reactor) {
  reactor->call_ =
      NewCallbackCall(context, method, request, reply, reactor, nullptr);
}

internal::ClientCallbackCall* Channel::NewCallbackCall(
    ClientContext* context, absl::string_view method,
    const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* reply, internal::ClientReactorBase* reactor,
    std::function<void(absl::Status)> unary_done) {
  ClientEventLoop* loop = state()->loop.get();
  absl::Status started = loop->Start();
  auto call = std::make_unique<internal::ClientCallbackCall>(
      this, loop, context, method, request, reply, options_.max_frame_size,
      reactor, std::move(unary_done), started);
  internal::ClientCallbackCall* made = call.get();
  if (started.ok()) {
    call = loop->Adopt(std::move(call));
    if (call != nullptr) {
      call->loop_failure_ =
          absl::UnavailableError("the channel is being destroyed");
    }
  }
  // Not adopted (the loop could not start, or no longer runs): Start()
  // ends the call on its own thread and deletes it.
  (void)call.release();
  return made;
}

std::shared_ptr<ClientCallState> Channel::OpenCallbackStream(
    internal::ClientCallbackCall* call, bool on_loop) {
  ClientContext* context = call->context_;
  absl::Status status;
  if (!options_.interceptors.empty()) {
    if (context == nullptr) {
      call->owned_context_ = std::make_unique<ClientContext>();
      context = call->context_ = call->owned_context_.get();
    }
    call->start_time_ = absl::Now();
    size_t started = StartInterceptors(options_.interceptors, call->method_,
                                       *context, &status);
    call->interceptors_.assign(options_.interceptors.begin(),
                               options_.interceptors.begin() + started);
    if (status.ok() && call->request_ != nullptr) {
      status = internal::RunRequestHooks(call->interceptors_, call->method_,
                                         *context, *call->request_);
    }
  }
  std::shared_ptr<ClientCallState> stream;
  if (status.ok()) {
    // Opened without waiting for socket room: StartCall() must not block
    // (it may run in a reaction, on the loop).
    absl::StatusOr<std::shared_ptr<ClientCallState>> opened = OpenCall(
        context, call,
        [call, on_loop](ClientConnection& connection,
                        const std::shared_ptr<ClientCallState>& state) {
          return connection.Open(state, call->method_, call->request_,
                                 call->reply_, /*no_wait=*/true,
                                 /*hold_for_loop=*/on_loop);
        });
    stream = opened.ok() ? *std::move(opened)
                         : FailedCall(context, std::move(opened).status());
  } else {
    stream = FailedCall(context, status);
  }
  if (!on_loop) {  // counted by BeginCallbackOpen()
    State& state = *this->state();
    MutexLock lock(&state.mu);
    --state.opening;  // the Channel is not used after this
  }
  return stream;
}

void Channel::Flush() {
  std::vector<std::shared_ptr<ClientConnection>> connections;
  {
    State& state = *this->state();
    MutexLock lock(&state.mu);
    if (state.connection != nullptr) connections.push_back(state.connection);
    for (const State::Backend& backend : state.backends) {
      if (backend.connection != nullptr) {
        connections.push_back(backend.connection);
      }
    }
  }
  for (const std::shared_ptr<ClientConnection>& connection : connections) {
    connection->FlushHeld(absl::InfiniteFuture());
  }
}

namespace {

// The channel's TLS context (null without TLS): its files read now.
absl::StatusOr<std::shared_ptr<ReloadingTlsContext>> ChannelTlsContext(
    const ChannelOptions& options) {
  if (!options.tls.has_value()) return nullptr;
  SOCKRPC_ASSIGN_OR_RETURN(std::unique_ptr<ReloadingTlsContext> context,
                           ReloadingTlsContext::ForClient(*options.tls));
  return std::shared_ptr<ReloadingTlsContext>(std::move(context));
}

}  // namespace

absl::StatusOr<std::shared_ptr<Channel>> CreateChannel(
    absl::string_view target, const ChannelOptions& options) {
  SOCKRPC_ASSIGN_OR_RETURN(std::vector<Address> addresses, ParseTarget(target));
  std::string name =
      addresses.size() == 1 ? addresses[0].ToString() : std::string(target);
  // pick_first: the addresses in order, each as Connect() tries a name's.
  ChannelConnector connector = [addresses](absl::Time deadline) {
    return ConnectFirst(addresses, deadline);
  };
  ChannelResolver resolver;
  if (options.load_balancing == LoadBalancing::kRoundRobin) {
    resolver = [addresses] { return ResolveBackendsOf(addresses); };
  }
  SOCKRPC_ASSIGN_OR_RETURN(std::shared_ptr<ReloadingTlsContext> tls,
                           ChannelTlsContext(options));
  // The name the certificate must carry: the target's host name as
  // written; for addresses, each connection's own (Connect()).
  std::string server_name;
  if (options.tls.has_value()) {
    server_name = !options.tls->server_name.empty() ? options.tls->server_name
                  : addresses[0].kind == Address::Kind::kHostName
                      ? addresses[0].host
                      : std::string();
  }
  return std::make_shared<Channel>(
      Channel::Key(), std::move(name), std::move(connector), options,
      std::move(resolver), std::move(tls), std::move(server_name));
}

absl::StatusOr<std::shared_ptr<Channel>> CreateChannelFromConnector(
    std::string name, ChannelConnector connector,
    const ChannelOptions& options) {
  if (!connector) {
    return absl::InvalidArgumentError(
        "CreateChannelFromConnector: the connector is empty");
  }
  SOCKRPC_ASSIGN_OR_RETURN(std::shared_ptr<ReloadingTlsContext> tls,
                           ChannelTlsContext(options));
  std::string server_name =
      options.tls.has_value() ? options.tls->server_name : std::string();
  return std::make_shared<Channel>(Channel::Key(), std::move(name),
                                   std::move(connector), options, nullptr,
                                   std::move(tls), std::move(server_name));
}

}  // namespace sockrpc
