#include "server/server_runtime.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/output_batch.h"
#include "server/reflection_service.h"
#include "transport/address.h"
#include "transport/posix_error.h"
#include "transport/socket.h"
#include "transport/socket_activation.h"
#include "transport/status_macros.h"
#include "transport/wire_codec.h"

namespace sockrpc {

ServerRuntime::ServerRuntime(ServerOptions options)
    : options_(std::move(options)),
      buffers_(kPooledBuffers,
               size_t{options_.max_frame_size} + kPooledBufferSlack),
      health_(options_.enable_health_service ? std::make_unique<HealthService>()
                                             : nullptr),
      poller_(*Poller::Create()),
      out_of_fds_refusal_(RefusalBytes(
          absl::ResourceExhaustedError("server out of file descriptors"))),
      no_tls_refusal_(RefusalBytes(absl::UnavailableError(
          "this server speaks TLS on this port: connect with TLS"))) {}

ServerRuntime::~ServerRuntime() {
  Shutdown(absl::InfinitePast());
  std::thread idle_exit;
  {
    MutexLock lock(&mu_);
    idle_exit.swap(idle_exit_thread_);
  }
  if (idle_exit.joinable()) idle_exit.join();
}

void ServerRuntime::Log(absl::string_view line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::string text = absl::StrCat("sockrpc server: ", line, "\n");
  fwrite(text.data(), 1, text.size(), stderr);
}

absl::Status ServerRuntime::RegisterService(Service* service) {
  MutexLock lock(&mu_);
  if (state_ != State::kIdle) {
    return absl::FailedPreconditionError(
        "RegisterService() must be called before Start()");
  }
  if (!services_.emplace(service->name(), service).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("service ", service->name(), " is already registered"));
  }
  for (const Service::Method& method : service->methods()) {
    methods_[method.full_name] = RegisteredMethod{&method};
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ServerRuntime::Listen(absl::string_view address) {
  if (std::optional<PassedSocketsAddress> passed =
          ParsePassedSocketsAddress(address)) {
    return AdoptPassedSockets(*passed);
  }
  SOCKRPC_ASSIGN_OR_RETURN(Address parsed, ParseAddress(address));
  ListenOptions listen_options;
  listen_options.socket_file_mode = options_.socket_file_mode;
  listen_options.socket_file_group = options_.socket_file_group;
  SOCKRPC_ASSIGN_OR_RETURN(Listener listener,
                           Listener::Bind(parsed, listen_options));
  std::string bound = listener.address().ToString();
  MutexLock lock(&mu_);
  if (state_ != State::kIdle) {
    return absl::FailedPreconditionError(
        "Listen() must be called before Start()");
  }
  listeners_.push_back(std::move(listener));
  return bound;
}

absl::StatusOr<std::string> ServerRuntime::AdoptPassedSockets(
    const PassedSocketsAddress& address) {
  {
    MutexLock lock(&mu_);
    if (state_ != State::kIdle) {
      return absl::FailedPreconditionError(
          "Listen() must be called before Start()");
    }
  }
  SOCKRPC_ASSIGN_OR_RETURN(std::vector<PassedSocket> passed,
                           TakePassedSockets(address));
  std::vector<Listener> adopted;
  std::vector<std::string> bound;
  for (PassedSocket& socket : passed) {
    SOCKRPC_ASSIGN_OR_RETURN(Listener listener,
                             Listener::Adopt(std::move(socket.fd)));
    bound.push_back(listener.address().ToString());
    adopted.push_back(std::move(listener));
  }
  MutexLock lock(&mu_);
  for (Listener& listener : adopted) listeners_.push_back(std::move(listener));
  if (bound.size() == 1) return bound[0];
  return absl::StrCat(absl::StrJoin(bound, ", "), " (", bound.size(),
                      " sockets passed by systemd)");
}

absl::Status ServerRuntime::RegisterReflection() {
  Service* reflection = nullptr;
  {
    MutexLock lock(&mu_);
    if (state_ != State::kIdle || reflection_ != nullptr ||
        services_.contains(reflection::v1::Reflection::kServiceName)) {
      return absl::OkStatus();
    }
    std::vector<const Service*> services;
    for (const auto& entry : services_) services.push_back(entry.second);
    reflection_ = std::make_unique<ReflectionService>(services);
    reflection = reflection_.get();
  }
  return RegisterService(reflection);
}

absl::Status ServerRuntime::RegisterHealth() {
  if (health_ == nullptr) return absl::OkStatus();
  {
    MutexLock lock(&mu_);
    if (state_ != State::kIdle || health_registered_ ||
        services_.contains(health::v1::Health::kServiceName)) {
      return absl::OkStatus();
    }
    health_registered_ = true;
  }
  return RegisterService(health_.get());
}

absl::Status ServerRuntime::RegisterBuiltInServices() {
  // Health and stats first, so that reflection lists them.
  SOCKRPC_RETURN_IF_ERROR(RegisterHealth());
  SOCKRPC_RETURN_IF_ERROR(RegisterStats());
  if (options_.enable_reflection) {
    SOCKRPC_RETURN_IF_ERROR(RegisterReflection());
  }
  StartStats();
  if (health_ != nullptr) {
    std::vector<std::string> names;
    {
      MutexLock lock(&mu_);
      for (const auto& entry : services_) names.push_back(entry.first);
    }
    health_->Start(names);
  }
  return absl::OkStatus();
}

absl::Status ServerRuntime::Start() {
  SOCKRPC_RETURN_IF_ERROR(RegisterBuiltInServices());
  MutexLock lock(&mu_);
  SOCKRPC_RETURN_IF_ERROR(StartServing());
  // One thread leads; another stands by in case it stays on one event.
  threads_.emplace_back(&ServerRuntime::ThreadMain, this, Role::kLead);
  watchdog_ = true;
  threads_.emplace_back(&ServerRuntime::ThreadMain, this, Role::kWatch);
  return absl::OkStatus();
}

absl::Status ServerRuntime::StartInline() {
  SOCKRPC_RETURN_IF_ERROR(RegisterBuiltInServices());
  MutexLock lock(&mu_);
  return StartServing();
}

int ServerRuntime::PollInline(absl::Duration timeout) {
  epoll_event events[16];
  ReadyCalls ready;
  absl::StatusOr<int> count = poller_.Wait(
      events, 16, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (!count.ok()) return 0;
  for (int i = 0; i < *count; ++i) {
    if (events[i].data.u64 != kStopTag) HandleLeaderEvent(events[i], &ready);
  }
  return *count;
}

uint64_t ServerRuntime::AdoptInline(std::unique_ptr<ByteStream> stream,
                                    std::string peer) {
  MutexLock lock(&mu_);
  // A stream without a descriptor cannot fail to be watched.
  return *AddConnectionLocked(std::move(stream), std::move(peer), std::nullopt,
                              Admits(std::nullopt));
}

bool ServerRuntime::DeliverInline(uint64_t tag, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  ReadyCalls ready;
  HandleLeaderEvent(event, &ready);
  MutexLock lock(&mu_);
  return connections_.contains(tag);
}

absl::Status ServerRuntime::StartServing() {
  if (state_ != State::kIdle) {
    return absl::FailedPreconditionError("the server was started already");
  }
  // With no listener the server serves in-process connections only
  // (ConnectInProcess()).
  if (options_.tls.has_value()) {
    SOCKRPC_ASSIGN_OR_RETURN(tls_contexts_,
                             ReloadingTlsContext::ForServer(*options_.tls));
  }
  SOCKRPC_ASSIGN_OR_RETURN(stop_fd_, MakeEventFd(/*semaphore=*/false));
  SOCKRPC_ASSIGN_OR_RETURN(task_fd_, MakeEventFd(/*semaphore=*/true));
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) return PosixError("timerfd_create", errno);
  timer_fd_.reset(timer);
  SOCKRPC_RETURN_IF_ERROR(poller_.Add(stop_fd_.get(), EPOLLIN, kStopTag));
  SOCKRPC_RETURN_IF_ERROR(poller_.Add(task_fd_.get(), EPOLLIN, kTaskTag));
  SOCKRPC_ASSIGN_OR_RETURN(reactions_fd_, MakeEventFd(/*semaphore=*/false));
  SOCKRPC_RETURN_IF_ERROR(
      poller_.Add(reactions_fd_.get(), EPOLLIN, kReactionsTag));
  SOCKRPC_RETURN_IF_ERROR(
      poller_.Add(timer_fd_.get(), EPOLLIN | EPOLLONESHOT, kTimerTag));
  int deadline_timer =
      timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (deadline_timer < 0) return PosixError("timerfd_create", errno);
  deadline_timer_fd_.reset(deadline_timer);
  SOCKRPC_RETURN_IF_ERROR(poller_.Add(deadline_timer_fd_.get(),
                                      EPOLLIN | EPOLLONESHOT, kDeadlineTag));
  for (size_t i = 0; i < listeners_.size(); ++i) {
    SOCKRPC_RETURN_IF_ERROR(poller_.Add(
        listeners_[i].fd(), EPOLLIN | EPOLLONESHOT, kFirstListenerTag + i));
  }
  state_ = State::kRunning;
  if (options_.exit_when_idle > absl::ZeroDuration()) {
    idle_since_ = absl::Now();
    ArmHousekeepingLocked(idle_since_ + options_.exit_when_idle);
  }
  return absl::OkStatus();
}

void ServerRuntime::HandleEvent(uint64_t tag, uint32_t /*events*/,
                                uint64_t stint) {
  if (tag == kTaskTag) {
    RunTask(stint);
  } else if (tag == kReactionsTag) {
    RunPostedReactions();
  } else if (tag == kTimerTag) {
    Housekeeping();
  } else if (tag == kDeadlineTag) {
    ExpireDeadlines();
  } else if (tag >= kFirstListenerTag) {
    AcceptConnections(tag - kFirstListenerTag);
  }
}

void ServerRuntime::HandleConnectionEvent(
    const std::shared_ptr<ServerConnection>& connection, uint32_t events,
    uint64_t stint, ReadyCalls* ready) {
  FinishConnectionEvent(
      connection, connection->OnEvent(connection, events, ready), stint, ready);
}

void ServerRuntime::FinishConnectionEvent(
    const std::shared_ptr<ServerConnection>& connection, bool open,
    uint64_t stint, ReadyCalls* ready) {
  if (!open) {
    CloseConnection(connection);
    for (ServerCall& call : *ready) {
      if (call.reactions) {
        call.state->RunReactions();  // OnCancel() among them
      } else {
        CallFinished();  // never started
      }
    }
    ready->clear();
    return;
  }
  RunCalls(connection, ready, stint);
  ready->clear();
}

void ServerRuntime::RunCalls(
    const std::shared_ptr<ServerConnection>& connection, ReadyCalls* calls,
    uint64_t stint) {
  // What never blocks runs first, here: reactions, and the starts of
  // callback methods. What is left runs handlers.
  if (calls->size() == 1) {  // (most events: one call, run here)
    ServerCall& call = calls->front();
    if (!call.RunWithoutBlocking()) RunHandler(&call, stint);
    return;
  }
  size_t blocking = 0;
  {
    // Callback calls read together share one output batch: their replies
    // leave in one write per connection (but the first, which goes at once
    // so that the client works on it while the rest are made; see
    // output_batch.h), as the blocking ones below do, corked. Measured, 64 B
    // unary over unix, two cores, callback client against servers differing
    // only in this: a write per reply below 16 calls read together made
    // 255-265k calls/s with 8 in flight, 264-296k with 16, 1.03-1.10M with
    // 64; the shared batch 288-301k, 513-531k, 1.29-1.38M.
    OutputBatch batch;
    for (size_t i = 0; i < calls->size(); ++i) {
      if ((*calls)[i].RunWithoutBlocking()) continue;
      if (blocking != i) (*calls)[blocking] = std::move((*calls)[i]);
      ++blocking;
    }
  }
  calls->erase(calls->begin() + blocking, calls->end());
  if (calls->empty()) return;
  const bool all_unary = std::all_of(
      calls->begin(), calls->end(),
      [](const ServerCall& call) { return call.state->is_unary(); });
  if (calls->size() == 1 || !all_unary) {
    // All but the last go to other threads, so that streaming calls run
    // independently; the last runs here, with no hand-off.
    if (calls->size() > 1) {
      MutexLock lock(&mu_);
      for (size_t i = 0; i + 1 < calls->size(); ++i) {
        tasks_.push_back(std::move((*calls)[i]));
      }
      SignalEventFd(task_fd_.get(), calls->size() - 1);
    }
    RunHandler(&calls->back(), stint);
    return;
  }
  // Unary calls that arrived together run here one after another, with
  // no hand-off, and their replies leave together (corked: one write for
  // the batch). Meanwhile the rest wait in tasks_, where the watchdog hands
  // them to the next leader (and uncorks the connection) when it takes the
  // lead from this thread. The watchdog takes it holding mu_: so either it
  // finds this batch registered (corked already, so that BreakCork() has a
  // cork to break), or this thread finds the lead gone and hands the
  // batch over itself, as nobody watches it any more.
  connection->Cork();
  bool still_leading;
  {
    MutexLock lock(&mu_);
    for (size_t i = 1; i < calls->size(); ++i) {
      tasks_.push_back(std::move((*calls)[i]));
    }
    still_leading = stint_.load() == stint;
    if (still_leading) {
      corked_.push_back(connection.get());
    } else {
      SignalEventFd(task_fd_.get(), calls->size() - 1);
    }
  }
  if (!still_leading) {
    connection->Uncork();
    RunHandler(&calls->front(), 0);
    return;
  }
  RunHandler(&calls->front(), stint);
  while (std::optional<ServerCall> next = PopTask()) RunQueued(&*next, stint);
  {
    MutexLock lock(&mu_);
    corked_.erase(std::find(corked_.begin(), corked_.end(), connection.get()));
  }
  connection->Uncork();
}

void ServerRuntime::RunHandler(ServerCall* call, uint64_t stint) {
  if (!TakeHandlerSlot()) {
    WaitForSlot(std::move(*call), stint);
    return;
  }
  RunInSlot(call, stint);
  ReleaseHandlerSlot(stint);
}

void ServerRuntime::MarkBlockingStint(uint64_t stint) {
  // Only ever raised: a thread that lost the lead in an older stint and
  // goes on running handlers must not hide the new leader's blocking stint
  // from the watchdog (it then never took the lead from a leader stuck in
  // a handler that waits for a read only a leader can do).
  uint64_t marked = blocking_stint_.load(std::memory_order_relaxed);
  while (marked < stint && !blocking_stint_.compare_exchange_weak(
                               marked, stint, std::memory_order_relaxed)) {
  }
}

void ServerRuntime::RunInSlot(ServerCall* call, uint64_t stint) {
  if (stint != 0) MarkBlockingStint(stint);
  call->Run();
  CallFinished();
}

bool ServerRuntime::TakeHandlerSlot() {
  if (blocking_running_.fetch_add(1) < options_.max_threads) return true;
  blocking_running_.fetch_sub(1);
  return false;
}

void ServerRuntime::ReleaseHandlerSlot(uint64_t stint) {
  // Most calls find none waiting, and take no lock to see it.
  if (ABSL_PREDICT_TRUE(waiting_count_.load() == 0)) {
    blocking_running_.fetch_sub(1);
    if (ABSL_PREDICT_TRUE(waiting_count_.load() == 0) || !TakeHandlerSlot()) {
      return;
    }
  }
  RunWaitingInSlot(stint);
}

void ServerRuntime::RunWaitingInSlot(uint64_t stint) {
  for (;;) {
    // A call that waits takes this slot at once, on this thread.
    while (waiting_count_.load() > 0) {
      std::optional<ServerCall> next = PopWaitingForSlot();
      if (!next.has_value()) break;
      RunInSlot(&*next, stint);
    }
    blocking_running_.fetch_sub(1);
    if (waiting_count_.load() == 0 || !TakeHandlerSlot()) return;
  }
}

void ServerRuntime::WaitForSlot(ServerCall call, uint64_t stint) {
  {
    MutexLock lock(&mu_);
    waiting_for_slot_.push_back(std::move(call));
    waiting_count_.fetch_add(1);
  }
  // A slot may have freed meanwhile, its thread gone without seeing this
  // call.
  if (TakeHandlerSlot()) ReleaseHandlerSlot(stint);
}

std::optional<ServerCall> ServerRuntime::PopWaitingForSlot() {
  for (;;) {
    std::optional<ServerCall> call;
    {
      MutexLock lock(&mu_);
      if (waiting_for_slot_.empty()) return std::nullopt;
      call.emplace(std::move(waiting_for_slot_.front()));
      waiting_for_slot_.pop_front();
      waiting_count_.fetch_sub(1);
    }
    if (!call->state->IsCancelled()) return call;
    CallFinished();  // the client left or cancelled while it waited
  }
}

void ServerRuntime::RunQueued(ServerCall* call, uint64_t stint) {
  if (call->reactions) {
    call->state->RunReactions();
  } else {
    RunHandler(call, stint);
  }
}

void ServerRuntime::PostReactions(std::shared_ptr<ServerCallState> call) {
  MutexLock lock(&posted_mu_);
  // Once the threads stop, Shutdown() runs what is left (ForceDone()).
  if (posting_stopped_) return;
  reactions_posted_.push_back(std::move(call));
  if (reactions_posted_.size() == 1) SignalEventFd(reactions_fd_.get());
}

void ServerRuntime::RunPostedReactions() {
  std::vector<std::shared_ptr<ServerCallState>> posted;
  {
    MutexLock lock(&posted_mu_);
    // Drained under the lock: a post after the swap signals again.
    if (!DrainEventFd(reactions_fd_.get())) return;
    posted.swap(reactions_posted_);
  }
  for (const auto& call : posted) call->RunReactions();
}

void ServerRuntime::ReactorStarted(
    const std::shared_ptr<ServerCallState>& call) {
  MutexLock lock(&reactors_mu_);
  reactors_.emplace(call.get(), call);
}

void ServerRuntime::ReactorDone(ServerCallState* call) {
  MutexLock lock(&reactors_mu_);
  reactors_.erase(call);
}

std::optional<ServerCall> ServerRuntime::PopTask() {
  MutexLock lock(&mu_);
  if (tasks_.empty()) return std::nullopt;
  std::optional<ServerCall> call(std::move(tasks_.front()));
  tasks_.pop_front();
  return call;
}

void ServerRuntime::RunTask(uint64_t stint) {
  if (!DrainEventFd(task_fd_.get())) return;
  if (std::optional<ServerCall> call = PopTask()) RunQueued(&*call, stint);
}

void ServerRuntime::CloseConnection(
    const std::shared_ptr<ServerConnection>& connection) {
  if (!connection->MarkClosed()) return;  // closed already
  if (connection->fd() >= 0) poller_.Remove(connection->fd());
  connection->Shutdown();
  connection->LogUnloggedRefusals();
  // Its calls still waiting for a handler slot go first, so that none of
  // them starts in the slot of a handler the cancels below end; and now,
  // not when a slot frees (with every handler stuck, that could be never).
  int purged = 0;
  {
    MutexLock lock(&mu_);
    connections_.erase(connection->tag());
    if (stats_ != nullptr) {
      stats_->ConnectionClosed(connection->bytes_received(),
                               connection->bytes_sent());
    }
    if (connections_.empty() && state_ == State::kRunning &&
        options_.exit_when_idle > absl::ZeroDuration()) {
      idle_since_ = absl::Now();
      ArmHousekeepingLocked(idle_since_ + options_.exit_when_idle);
    }
    if (static_cast<int>(connections_.size()) < options_.max_connections) {
      full_since_ = absl::InfiniteFuture();
      ResumeListenersLocked();
    }
    if (waiting_count_.load() > 0) {
      auto gone =
          std::remove_if(waiting_for_slot_.begin(), waiting_for_slot_.end(),
                         [&](const ServerCall& call) {
                           return &call.state->connection() == connection.get();
                         });
      purged = static_cast<int>(waiting_for_slot_.end() - gone);
      waiting_for_slot_.erase(gone, waiting_for_slot_.end());
      waiting_count_.fetch_sub(purged);
    }
  }
  for (int i = 0; i < purged; ++i) CallFinished();
  // Handlers of the connection's calls learn that the client is gone.
  connection->CancelAllCalls(absl::CancelledError("the client disconnected"),
                             /*send_status=*/false);
}

void ServerRuntime::WatchConnection(const ServerConnection& connection,
                                    bool readable, bool writable) {
  if (connection.fd() < 0) return;  // its owner delivers its events
  (void)poller_.Modify(connection.fd(),
                       (readable ? kConnectionEvents : 0u) |
                           (writable ? uint32_t{EPOLLOUT} : 0u),
                       connection.tag());
}

const ServerRuntime::RegisteredMethod* ServerRuntime::FindMethod(
    absl::string_view full_name, absl::Status* error) const {
  auto it = methods_.find(full_name);
  if (it != methods_.end()) return &it->second;
  // "/package.Service/Method", both parts non-empty and without a slash:
  // say whether the service or the method is unknown.
  absl::string_view name = full_name;
  size_t slash = name.size() > 1 ? name.find('/', 1) : absl::string_view::npos;
  if (name.empty() || name[0] != '/' || slash == absl::string_view::npos ||
      slash == 1 || slash + 1 == name.size() ||
      name.find('/', slash + 1) != absl::string_view::npos) {
    *error = absl::UnimplementedError(
        absl::StrCat("malformed method name \"", full_name,
                     "\" (expected /package.Service/Method)"));
  } else if (!services_.contains(name.substr(1, slash - 1))) {
    *error = absl::UnimplementedError(
        absl::StrCat("unknown service ", name.substr(1, slash - 1)));
  } else {
    *error = absl::UnimplementedError(
        absl::StrCat("unknown method ", name.substr(slash + 1), " in service ",
                     name.substr(1, slash - 1)));
  }
  return nullptr;
}

}  // namespace sockrpc
