// ServerRuntime: the machinery behind sockrpc::Server (see server/server.h
// for the threading model). Internal to the server.
//
// Owns the listeners, the epoll Poller, the table of connections, the
// threads and the queue of calls handed to other threads.
#ifndef SOCKRPC_SERVER_SERVER_RUNTIME_H_
#define SOCKRPC_SERVER_SERVER_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/server.h"
#include "server/server_call.h"
#include "server/server_connection.h"
#include "server/service.h"
#include "transport/fd.h"
#include "transport/poller.h"
#include "transport/socket.h"

namespace sockrpc {

class ServerRuntime {
 public:
  explicit ServerRuntime(ServerOptions options);
  ~ServerRuntime();

  // See Server.
  absl::Status RegisterService(Service* service);
  absl::StatusOr<std::string> Listen(absl::string_view address);
  absl::Status Start();
  void Shutdown(absl::Time deadline);
  void Wait();

  // ---- For ServerConnection and ServerCall ----

  const ServerOptions& options() const { return options_; }
  // The method called `full_name`, or null with *error set to the
  // UNIMPLEMENTED status to send.
  const Service::Method* FindMethod(absl::string_view full_name,
                                    absl::Status* error) const;
  // Writes one line to the server log.
  void Log(absl::string_view line) const;
  // Re-arms a connection's one-shot registration.
  void Rearm(const ServerConnection& connection, bool want_write);
  // True once Shutdown() has begun: new calls get UNAVAILABLE.
  bool draining() const;
  // Brackets every call from the moment it is read until its reply is sent,
  // so that Shutdown() can wait for calls in flight.
  void CallStarted();
  void CallFinished();

 private:
  enum class State { kIdle, kRunning, kDraining, kStopping, kStopped };

  // Event tags below kFirstConnectionTag name fixed sources.
  static constexpr uint64_t kStopTag = 1;
  static constexpr uint64_t kTaskTag = 2;
  static constexpr uint64_t kTimerTag = 3;
  static constexpr uint64_t kFirstListenerTag = 16;
  static constexpr uint64_t kFirstConnectionTag = 1 << 20;
  // Most threads waiting on epoll at once; more threads than this (for
  // handlers running at once) park on a condition instead.
  static constexpr int kMaxPollers = 2;

  void ThreadMain();
  // Called when a thread takes an event.
  void StopPolling();
  // Bracket a handler run. If every busy thread is then in a handler and
  // none polls, BeginHandler() calls a parked thread back or starts a new
  // one (up to max_threads), so a slow handler never stops the server.
  // EndHandler() also ends the call (see CallFinished()).
  void BeginHandler();
  void EndHandler();
  // Called when a thread is done with an event: it polls again, or parks if
  // kMaxPollers threads poll already. False once the server stops.
  bool ResumePolling();
  void HandleEvent(uint64_t tag, uint32_t events);
  void AcceptConnections(size_t listener_index);
  void HandleConnectionEvent(uint64_t tag, uint32_t events);
  void RunTask();
  void DropExpiredHandshakes();
  void ArmHandshakeTimer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseConnection(const std::shared_ptr<ServerConnection>& connection);
  void RunCalls(std::vector<ServerCall>* calls);

  const ServerOptions options_;
  absl::flat_hash_map<std::string, const Service::Method*> methods_;
  absl::flat_hash_map<std::string, Service*> services_;
  std::vector<Listener> listeners_;  // fixed once Start() has run
  Poller poller_;
  Fd stop_fd_;   // eventfd: readable for ever once the threads must stop
  Fd task_fd_;   // eventfd (semaphore): one unit per queued task
  Fd timer_fd_;  // timerfd: ticks once a second while handshakes are open

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  // Threads in (or about to be in) epoll_wait; threads busy with an event,
  // and those of them in a handler; threads parked on mu_, and parked
  // threads called back but not yet running.
  int pollers_ ABSL_GUARDED_BY(mu_) = 0;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;         // handling an event
  int in_handlers_ ABSL_GUARDED_BY(mu_) = 0;  // of those, running a handler
  int parked_ ABSL_GUARDED_BY(mu_) = 0;
  int unparks_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_connection_tag_ ABSL_GUARDED_BY(mu_) = kFirstConnectionTag;
  absl::flat_hash_map<uint64_t, std::shared_ptr<ServerConnection>>
      connections_ ABSL_GUARDED_BY(mu_);
  bool timer_armed_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<ServerCall> tasks_ ABSL_GUARDED_BY(mu_);
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Read on every call without the lock: false once Shutdown() has begun.
  std::atomic<bool> accepting_calls_{true};
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_RUNTIME_H_
