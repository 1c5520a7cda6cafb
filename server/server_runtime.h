// ServerRuntime: the machinery behind sockrpc::Server (see server/server.h
// for the threading model). Internal to the server.
//
// Owns the listeners, the epoll Poller, the table of connections, the
// threads and the queue of calls handed to other threads.
#ifndef SOCKRPC_SERVER_SERVER_RUNTIME_H_
#define SOCKRPC_SERVER_SERVER_RUNTIME_H_

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/health_service.h"
#include "server/log_throttle.h"
#include "server/server.h"
#include "server/server_call.h"
#include "server/server_connection.h"
#include "server/server_stats.h"
#include "server/service.h"
#include "transport/block_recycler.h"
#include "transport/buffer_pool.h"
#include "transport/byte_stream.h"
#include "transport/fd.h"
#include "transport/poller.h"
#include "transport/receive_ring.h"
#include "transport/socket.h"
#include "transport/socket_activation.h"
#include "transport/sync.h"
#include "transport/tls_context.h"

namespace sockrpc {

class ServerRuntime {
 public:
  explicit ServerRuntime(ServerOptions options);
  ~ServerRuntime();

  // See Server.
  absl::Status RegisterService(Service* service);
  absl::StatusOr<std::string> Listen(absl::string_view address);
  absl::Status Start();
  absl::StatusOr<Fd> ConnectInProcess();  // Server::ConnectInProcess()
  void Shutdown(absl::Time deadline);
  void Wait();
  HealthService* health() const { return health_.get(); }

  // ---- For single-threaded tests (the server fuzzer) ----
  //
  // StartInline() is Start() without threads: nothing is served until
  // PollInline(), which handles the events that come within `timeout`
  // (at most one batch of them) in the calling thread, as the leader
  // would, and returns how many it handled. Only for services whose
  // handlers never wait for the peer (callback ones): no other thread
  // reads for a handler that waits. Not for Shutdown().
  absl::Status StartInline();
  int PollInline(absl::Duration timeout);
  // AdoptInline() serves `stream` (which has no descriptor: fd() < 0) as a
  // connection from `peer` without credentials, as if just accepted, and
  // returns its tag. Nothing watches it: DeliverInline() hands it `events`
  // (EPOLLIN, EPOLLOUT, ...) as epoll would have reported them, and says
  // whether the connection is still open after handling them.
  uint64_t AdoptInline(std::unique_ptr<ByteStream> stream, std::string peer);
  bool DeliverInline(uint64_t tag, uint32_t events);

  // ---- For ServerConnection and ServerCall ----

  const ServerOptions& options() const { return options_; }
  // Large buffers shared by the connections (request buffers, pending
  // output), freed when the server has been quiet for a while (Watch()).
  BufferPool& buffers() { return buffers_; }
  // Memory for the calls' states (ServerCallState with its shared_ptr
  // control block), kept from call to call.
  BlockRecycler* call_blocks() { return &call_blocks_; }
  // A method the server serves, and its stats (null when they are off).
  using RegisteredMethod = ::sockrpc::RegisteredMethod;
  // The method called `full_name`, or null with *error set to the
  // UNIMPLEMENTED status to send.
  const RegisteredMethod* FindMethod(absl::string_view full_name,
                                     absl::Status* error) const;
  // The stats (ServerOptions::enable_stats_service), null when off; fixed
  // once Start() has run.
  ServerStats* stats() const { return stats_.get(); }
  // For the stats service: the open connections, at most `limit` listed.
  ConnectionsSnapshot SnapshotConnections(size_t limit) const;
  // Writes one line to the server log.
  void Log(absl::string_view line) const;
  // Sets what epoll watches of a connection: EPOLLIN (and EPOLLRDHUP)
  // unless it is solo (server_threads.cc), EPOLLOUT while output waits.
  void WatchConnection(const ServerConnection& connection, bool readable,
                       bool writable);
  // True once Shutdown() has begun: new calls get UNAVAILABLE.
  bool draining() const {
    return !accepting_calls_.load(std::memory_order_relaxed);
  }
  // Brackets every call from the moment it is read until its reply is sent,
  // so that Shutdown() can wait for calls in flight. (Inline: every call.)
  void CallStarted() { calls_in_flight_.fetch_add(1); }
  void CallFinished() {
    // A seq_cst decrement, then a seq_cst read of the draining flag, which
    // Shutdown() sets before it reads the count: if this misses the flag,
    // Shutdown() sees the new count.
    if (calls_in_flight_.fetch_sub(1) == 1 && !accepting_calls_.load()) {
      WakeShutdown();
    }
  }
  // Ends `call` with DEADLINE_EXCEEDED when its deadline passes, unless
  // CancelDeadline() comes first.
  void ScheduleDeadline(const std::shared_ptr<ServerCallState>& call);
  void CancelDeadline(const ServerCallState& call);
  // Has a server thread run `call`'s reactions (a reaction made due off
  // the server's threads, or by a timer or a cancel).
  void PostReactions(std::shared_ptr<ServerCallState> call);
  // Bracket a callback call from its reactor's start to its OnDone(), so
  // that Shutdown() can end reactors that never finish.
  void ReactorStarted(const std::shared_ptr<ServerCallState>& call);
  void ReactorDone(ServerCallState* call);

 private:
  enum class State { kIdle, kRunning, kDraining, kStopping, kStopped };

  // Event tags below kFirstConnectionTag name fixed sources.
  static constexpr uint64_t kStopTag = 1;
  static constexpr uint64_t kTaskTag = 2;
  static constexpr uint64_t kTimerTag = 3;
  static constexpr uint64_t kDeadlineTag = 4;
  static constexpr uint64_t kReactionsTag = 5;
  static constexpr uint64_t kFirstListenerTag = 16;
  static constexpr uint64_t kFirstConnectionTag = 1 << 20;
  // What every connection waits for, level-triggered; EPOLLOUT is added
  // while output waits.
  static constexpr uint32_t kConnectionEvents = EPOLLIN | EPOLLRDHUP;
  // One thread, the leader, waits on epoll and handles what it gets. One
  // is best: the thread that just replied is the one that takes the next
  // request, warm, with no wake-up of another thread and no system call
  // beyond the I/O. A leader busy with one event for a watchdog tick (1-2
  // ms) loses the lead to the watchdog thread.
  static constexpr absl::Duration kWatchTick = absl::Milliseconds(1);
  static constexpr int kQuietTicksBeforeSleep = 1000;  // about a second
  // Call states' blocks kept for reuse (about 1 KiB each).
  static constexpr size_t kKeptCallBlocks = 64;
  // The buffer pool: how many large buffers it keeps, each at most a frame
  // of max_frame_size plus this much (headers, metadata, a status).
  static constexpr size_t kPooledBuffers = 8;
  static constexpr size_t kPooledBufferSlack = 64 * 1024;

  // What a server thread does next (server_threads.cc).
  enum class Role {
    kLead,   // wait on epoll (and the solo connection) and handle each
             // event, until the lead is lost
    kWatch,  // stand by for a leader that stays on one event (Watch())
    kStop,   // exit
  };
  void ThreadMain(Role role);
  // A thread's means to lead with a solo connection: its ring, made when
  // first needed (null if io_uring cannot be used here), and the space the
  // ring receives into. On the thread's stack (ThreadMain()).
  static constexpr size_t kSoloScratchSize = 16 * 1024;
  struct LeaderRing {
    bool tried = false;
    std::unique_ptr<ReceiveRing> ring;
    char scratch[kSoloScratchSize];
  };
  // `own`'s ring, made at the first call.
  ReceiveRing* RingOf(LeaderRing* own);
  // Listen() of a "systemd:" address: adopts the passed sockets it names.
  absl::StatusOr<std::string> AdoptPassedSockets(
      const PassedSocketsAddress& address);
  // ServerOptions::exit_when_idle, checked by Housekeeping(): if no
  // connection is open, none is being accepted, no call is in flight,
  // none has been for exit_when_idle and no listener has a connection
  // waiting, stops accepting (closes the listeners: a passed socket's
  // queue stays with systemd) and has idle_exit_thread_ shut the server
  // down. Otherwise lowers `*next` to when to look again.
  void ExitIfIdleLocked(absl::Time now, absl::Time* next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether any listener has a connection waiting to be accepted.
  bool ConnectionWaitingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What Start() and StartInline() share: the descriptors, the poller's
  // registrations, the state.
  absl::Status StartServing() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Handles one event (not the stop) in a stint of its own; false if the
  // watchdog took the lead meanwhile. `ready`: the calling thread's own,
  // empty (and left empty). `handled`, if not null, gets the connection
  // whose event it was (null for other events).
  bool HandleLeaderEvent(const epoll_event& event, ReadyCalls* ready,
                         std::shared_ptr<ServerConnection>* handled = nullptr);
  // The leader's loop. Each event is one stint (BeginStint(), EndStint());
  // returns when the watchdog took the lead meanwhile, or at the stop.
  Role Lead(LeaderRing* own);
  // Handles what the ring received from the solo connection `solo`
  // (server_threads.cc), in a stint of its own; false if the watchdog took
  // the lead meanwhile.
  bool HandleSoloRead(const std::shared_ptr<ServerConnection>& solo,
                      const ReceiveRing::Received& received,
                      absl::Span<char> scratch, ReadyCalls* ready);
  // Counts a connection's event towards its streak, and makes it the solo
  // connection once its streak is long enough.
  void NoteConnectionEvent(std::shared_ptr<ServerConnection> connection,
                           LeaderRing* own);
  // Gives the solo connection back to epoll.
  void EndSolo();
  // Marks the start of a stint (stint_ odd); returns its number.
  uint64_t BeginStint() {
    // Only the leader writes an even stint_, so a plain store will do; it is
    // sequentially consistent for the watchdog_sleeping_ handshake.
    const uint64_t stint = stint_.load(std::memory_order_relaxed) + 1;
    stint_.store(stint);
    if (watchdog_sleeping_.load()) WakeWatchdog();
    return stint;
  }
  // For BeginStint(): the watchdog slept through a quiet spell; wake it.
  void WakeWatchdog();
  // For CallFinished(): the last call in flight of a draining server ended;
  // Shutdown() looks again.
  void WakeShutdown();
  // Marks its end; false if the watchdog took the lead during it.
  bool EndStint(uint64_t stint);
  // For a thread that lost the lead, once its event is handled: watch if
  // nobody watches, else park until a watchdog is needed.
  Role NextRole();
  // The watchdog: ticks every kWatchTick. When the leader has stayed on
  // one stint for a whole tick, takes the lead from it (the old leader
  // finishes its event as a plain thread), releases what the old leader's
  // batch held back (ReleaseBatchesLocked()), and finds a successor (a
  // parked or new thread, up to max_threads + 2 threads). Sleeps without
  // ticking once no event has come for about a second. Never inlined: the
  // per-call cost (bench/call_cost.cc, IsClockDriven()) leaves its
  // clock-driven ticks out by this function's name.
  ABSL_ATTRIBUTE_NOINLINE Role Watch();
  // Breaks the corks of connections whose batch of unary calls is running
  // (their replies go out now) and hands the batch's queued calls to the
  // leader (RunCalls()).
  void ReleaseBatchesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Handles an event of a listener, a timer or the task queue, in the
  // leader's `stint`.
  void HandleEvent(uint64_t tag, uint32_t events, uint64_t stint);
  void AcceptConnections(size_t listener_index);
  // Serves `stream` as a new connection: enters it in the table, watches
  // its descriptor (if it has one) and arms the handshake deadline. Its
  // tag, or nothing (logged) if epoll would not watch it.
  // Whether `listener`'s connections speak TLS (options_.tls, TCP).
  bool SpeaksTls(const Listener& listener) const;
  // The stream a connection accepted on `listener` is served through: TLS
  // on TCP listeners when options_.tls is set, else the socket itself.
  absl::StatusOr<std::unique_ptr<ByteStream>> StreamFor(
      const Listener& listener, Fd fd);
  std::optional<uint64_t> AddConnectionLocked(
      std::unique_ptr<ByteStream> stream, std::string peer,
      const std::optional<PeerCredentials>& credentials, bool authorized)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `stint`: the leader's stint the event is handled in (BeginStint());
  // `ready`: as HandleLeaderEvent()'s.
  void HandleConnectionEvent(
      const std::shared_ptr<ServerConnection>& connection, uint32_t events,
      uint64_t stint, ReadyCalls* ready);
  // What follows a connection's read (`open`: whether it goes on): its
  // close, or its ready calls run.
  void FinishConnectionEvent(
      const std::shared_ptr<ServerConnection>& connection, bool open,
      uint64_t stint, ReadyCalls* ready);
  void RunTask(uint64_t stint);
  // Runs the reactions of every call posted (PostReactions()) so far.
  void RunPostedReactions();
  // Drops connections past their handshake deadline or idle too long, and
  // sets the timer for the next expiry (none: no timer).
  void Housekeeping();
  void ArmHousekeepingLocked(absl::Time when)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a peer with `credentials` may call (ServerOptions::allowed_*).
  bool Admits(const std::optional<PeerCredentials>& credentials) const;
  // OK while the server has room for another connection, else why not
  // (RESOURCE_EXHAUSTED: max_connections).
  absl::Status RoomForConnectionLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the peer of a connection about to be closed unserved why (a
  // GOAWAY with `why`), in one best-effort non-blocking write.
  void RefuseConnection(int fd, const std::string& refusal);
  // The server preface and a GOAWAY with `why`: what RefuseConnection()
  // writes.
  static std::string RefusalBytes(const absl::Status& why);
  // Called with the server full (max_connections) before accepting on
  // listener `index`: whether to accept and refuse, or (false) to pause the
  // listener until room is made or kFullGrace has passed.
  bool RefusingWhileFullLocked(size_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms every paused listener again.
  void ResumeListenersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmListenerLocked(size_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogThrottled(LogThrottle* throttle, absl::string_view line);
  void ExpireDeadlines();
  // Sets the deadline timer to the earliest deadline (none: disarmed).
  void ArmDeadlineTimerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(deadlines_mu_);
  void CloseConnection(const std::shared_ptr<ServerConnection>& connection);
  // Runs the calls one event delivered (see the comments inside).
  void RunCalls(const std::shared_ptr<ServerConnection>& connection,
                ReadyCalls* calls, uint64_t stint);
  // Runs one call's blocking handler if fewer than max_threads run,
  // else queues it for the first handler slot that frees. `stint`: the
  // leader's stint this runs in (it is then marked as blocking), or 0.
  void RunHandler(ServerCall* call, uint64_t stint);
  // Handler slots: at most options_.max_threads blocking handlers run at
  // once, so that threads are left to read sockets and run reactions.
  bool TakeHandlerSlot();
  // Gives the slot back, or keeps it to run calls that waited for one
  // (in `stint`, as RunHandler()): RunWaitingInSlot(), which gives it
  // back once none waits.
  void ReleaseHandlerSlot(uint64_t stint);
  void RunWaitingInSlot(uint64_t stint);
  // Runs one call's handler, in a slot, then ends the call in the runtime
  // (CallFinished()). `stint` (if not 0) is marked as blocking first.
  void RunInSlot(ServerCall* call, uint64_t stint);
  // Raises blocking_stint_ to `stint` (never lowers it).
  void MarkBlockingStint(uint64_t stint);
  // Queues a call for a slot; if one freed meanwhile, runs it here.
  void WaitForSlot(ServerCall call, uint64_t stint);
  // The oldest call waiting for a slot; calls cancelled while they waited
  // end here without their handler.
  std::optional<ServerCall> PopWaitingForSlot();
  // Runs a queued call: its reactions, or its handler.
  void RunQueued(ServerCall* call, uint64_t stint);
  std::optional<ServerCall> PopTask();
  // Registers the reflection service, describing every service registered
  // so far and itself, unless the application registered its own.
  absl::Status RegisterReflection();
  // Registers the health service unless options_ turn it off or the
  // application registered its own.
  absl::Status RegisterHealth();
  // Registers the stats service if options_ turn it on, unless the
  // application registered its own.
  absl::Status RegisterStats();
  // Makes stats_ and a MethodStats for every registered method (the stats
  // service's own included), once every service is registered.
  void StartStats();
  // Registers the health and reflection services (as options_ say), then
  // makes every registered service SERVING (HealthService::Start()).
  absl::Status RegisterBuiltInServices();

  const ServerOptions options_;
  // Before anything that holds calls, so that it outlives them.
  BlockRecycler call_blocks_{kKeptCallBlocks};
  BufferPool buffers_;
  absl::flat_hash_map<std::string, RegisteredMethod> methods_;
  absl::flat_hash_map<std::string, Service*> services_;
  // The reflection service, made by Start() unless options_ turn it off.
  std::unique_ptr<Service> reflection_ ABSL_GUARDED_BY(mu_);
  // The health service, made by the constructor unless options_ turn it
  // off (null then), registered by Start().
  const std::unique_ptr<HealthService> health_;
  bool health_registered_ ABSL_GUARDED_BY(mu_) = false;
  // The stats service and the numbers it reports, made by Start() when
  // options_ turn them on; stats_ is fixed before any thread serves.
  std::unique_ptr<Service> stats_service_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ServerStats> stats_;
  std::vector<Listener> listeners_;  // fixed once Start() has run
  Poller poller_;
  Fd stop_fd_;  // eventfd: readable for ever once the threads must stop
  Fd task_fd_;  // eventfd (semaphore): one unit per queued task
  // eventfd: readable while calls are posted to reactions_posted_.
  Fd reactions_fd_;
  // RefusalBytes() of "server out of file descriptors", made up front:
  // with no descriptor left, nothing else is made (sanitizers' checks of
  // a protobuf object's vtable, for one, need a descriptor).
  const std::string out_of_fds_refusal_;
  // With options_.tls: the contexts new TCP connections take (made at
  // StartServing()), and what a client without TLS is told.
  std::unique_ptr<ReloadingTlsContext> tls_contexts_;
  const std::string no_tls_refusal_;
  Fd timer_fd_;  // timerfd: set to the next connection expiry (handshake, idle)
  Fd deadline_timer_fd_;  // timerfd: set to the earliest call deadline

  // Calls with a deadline, earliest first (keyed also by address, unique
  // while the call lives).
  Mutex deadlines_mu_;
  std::map<std::pair<absl::Time, uintptr_t>, std::weak_ptr<ServerCallState>>
      deadlines_ ABSL_GUARDED_BY(deadlines_mu_);
  // When the deadline timer fires (InfiniteFuture: disarmed). Never later
  // than the earliest deadline; it may be earlier (the call that set it has
  // ended), and then ExpireDeadlines finds nothing due and sets it again.
  // So calls that come and go with like deadlines set it about once per
  // deadline's length, not once per call.
  absl::Time deadline_timer_at_ ABSL_GUARDED_BY(deadlines_mu_) =
      absl::InfiniteFuture();

  mutable Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  // The leader's stint: odd while it handles an event, even while it
  // waits for one. Only the leader makes it odd (BeginStint()); whoever
  // makes it even again by compare-and-swap ends the stint: the leader at
  // the end of its event, or the watchdog, which so takes the lead. There
  // is always exactly one leader.
  std::atomic<uint64_t> stint_{0};
  // The latest stint in which the leader started a blocking handler (only
  // ever raised, MarkBlockingStint()): the
  // watchdog takes the lead only from such a stint. (Other long stints,
  // a burst of call starts read, say, are work that would not go faster
  // on another thread; taking the lead from them only made threads.)
  std::atomic<uint64_t> blocking_stint_{0};
  // Whether a thread watches (or is on its way to: a parked thread called
  // back, a new thread).
  bool watchdog_ ABSL_GUARDED_BY(mu_) = false;
  // Set by the watchdog (holding mu_) before it sleeps untimed; a stint
  // that begins and finds it set clears it under mu_, which wakes the
  // watchdog. The watchdog reads stint_ after setting it, and a stint sets
  // stint_ before reading it, so one of the two always sees the other.
  std::atomic<bool> watchdog_sleeping_{false};
  // Threads parked on mu_, and those of them called back (to watch) but
  // not yet running.
  int parked_ ABSL_GUARDED_BY(mu_) = 0;
  int unparks_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_connection_tag_ ABSL_GUARDED_BY(mu_) = kFirstConnectionTag;
  absl::flat_hash_map<uint64_t, std::shared_ptr<ServerConnection>> connections_
      ABSL_GUARDED_BY(mu_);
  absl::Time housekeeping_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // How long a full server waits for the closes of connections already
  // gone before it refuses newcomers (RefusingWhileFullLocked()).
  static constexpr absl::Duration kFullGrace = absl::Milliseconds(200);
  // Since when the server has been full without room made (InfiniteFuture:
  // not full), and which listeners it paused meanwhile.
  absl::Time full_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::vector<bool> paused_listeners_ ABSL_GUARDED_BY(mu_);
  // Lines about refused connections and failed accepts, at most one a
  // second each.
  LogThrottle refused_full_log_ ABSL_GUARDED_BY(mu_){absl::Seconds(1)};
  LogThrottle accept_failure_log_ ABSL_GUARDED_BY(mu_){absl::Seconds(1)};
  // exit_when_idle: threads between taking a connection from a listener
  // and entering it in connections_ (AcceptConnections()); since when the
  // server has had no connection; whether it decided to exit, idle (then
  // it accepts nothing more); the thread that then runs Shutdown().
  int accepts_running_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time idle_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool idle_exit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread idle_exit_thread_ ABSL_GUARDED_BY(mu_);
  // Calls waiting for a thread (see RunCalls()).
  std::deque<ServerCall> tasks_ ABSL_GUARDED_BY(mu_);
  // Connections whose replies a thread running a batch holds back
  // (ServerConnection::Cork()); the watchdog uncorks them if it takes over.
  std::vector<ServerConnection*> corked_ ABSL_GUARDED_BY(mu_);
  // Blocking handlers running (each holds a slot), and calls waiting for
  // a slot. A thread that queues a call reads blocking_running_ after
  // raising waiting_count_, and a thread that frees a slot reads
  // waiting_count_ after lowering blocking_running_, so one of the two
  // always sees the other (no call waits while a slot is free).
  std::atomic<int> blocking_running_{0};
  std::atomic<int> waiting_count_{0};
  std::deque<ServerCall> waiting_for_slot_ ABSL_GUARDED_BY(mu_);
  // Calls whose reactions are due, posted from threads that do not run
  // them. The post that finds the list empty signals reactions_fd_; the
  // thread that takes the event runs the whole list, so that a burst of
  // posts (a write to every subscriber) costs one wake-up, not one each.
  Mutex posted_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<std::shared_ptr<ServerCallState>> reactions_posted_
      ABSL_GUARDED_BY(posted_mu_);
  bool posting_stopped_ ABSL_GUARDED_BY(posted_mu_) = false;
  // Callback calls whose reactor started and is not done.
  Mutex reactors_mu_ ABSL_ACQUIRED_AFTER(mu_);
  absl::flat_hash_map<ServerCallState*, std::weak_ptr<ServerCallState>>
      reactors_ ABSL_GUARDED_BY(reactors_mu_);
  // Calls read and not ended yet; Shutdown() waits (on mu_) for none.
  // Changed without mu_: the change that reaches 0 while draining takes
  // mu_ once, so that Shutdown()'s wait looks again.
  std::atomic<int> calls_in_flight_{0};
  // Read on every call without the lock: false once Shutdown() has begun.
  std::atomic<bool> accepting_calls_{true};

  // The solo connection (server_threads.cc): the one busy connection,
  // which the leader reads through its ring while epoll leaves it out
  // (null: none); and the connection of the latest connection events, and
  // how many came in a row (up to kSoloStreak). Only the thread that holds
  // the lead touches them, between stints or in its own (handing the lead
  // over orders them).
  static constexpr int kSoloStreak = 8;
  std::shared_ptr<ServerConnection> solo_;
  uint64_t streak_tag_ = 0;
  int streak_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_RUNTIME_H_
