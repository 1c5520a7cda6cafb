// ClientEventLoop: a Channel's event loop, the one thread that runs the
// callback API's reactions and reads for its calls while no blocking
// caller does. Internal to the client.
//
// Owned by the Channel (and shared with its connections, which schedule
// calls on it); there is one per Channel and none per process. The object
// is made with the Channel but holds no thread and no descriptor until
// Start(), which the callback API calls on first use: a channel used only
// for blocking calls never starts it.
//
// The thread waits in epoll on an eventfd (other threads wake it when they
// schedule a call) and on the connections that have callback calls
// (Watch()): each is registered edge-triggered, for input and, while the
// connection holds bytes the socket did not take, output
// (ClientConnection::RearmLocked()), so that an event costs no epoll_ctl
// to re-arm; bytes that no new edge would report (the loop stopped
// reading early, or a blocking caller held the reader role) are reported
// again by a modification of the registration (Arm()'s `report_again`). Its
// epoll_wait's time-out is the earliest deadline of its calls (or a
// connection's next keepalive look). A turn of the loop: run the scheduled
// calls (ClientCallbackCall::Advance(), which runs their reactions), expire
// deadlines, keep connections alive, wait, then read or flush each connection
// that has an event.
//
// The solo connection. While the loop watches one connection only (the
// usual case: a channel with one server), it waits for that connection's
// bytes in a ReceiveRing of its own (transport/receive_ring.h), whose
// wake-up descriptor is the epoll instance: one io_uring_enter() waits and
// reads, where epoll_wait() and recvfrom() took two. The connection's
// registration then leaves input out (ClientConnection::loop_solo_), so
// that its bytes do not also end the ring's wait through epoll; anything
// else epoll reports (a Schedule()'s eventfd, output room, a connection
// watched since) ends it, and the loop then looks with epoll_wait(0).
// States, all changed by the loop's thread:
//
//            alone watched at a sleep, no TLS, no descriptors
//   [epoll] -------------------------------------------------> [solo]
//      ^            (ClientConnection::ReceiveForLoop())          |
//      +----------------------------------------------------------+
//        another connection watched, or none; a blocking caller
//        reads or waits (the connection refuses); the ring failed
//        (EndSolo() or the refusal: input back in the registration,
//        what the socket holds reported)
//
// Solo, the loop sleeps holding the connection's reader role (the one
// exception to "the loop never sleeps holding it"); a blocking caller that
// comes to wait meanwhile wakes it (WakeUp()), and the loop gives the role
// up and goes back to epoll while somebody waits (blocking_waiters_).
// Turns that do not sleep (calls are ready) read the solo connection
// without waiting, after epoll_wait(0).
//
// Locks: mu_ is taken last (after a call's and a connection's); nothing
// is called with it held but epoll_ctl and the eventfd's write.
#ifndef SOCKRPC_CLIENT_CLIENT_EVENT_LOOP_H_
#define SOCKRPC_CLIENT_CLIENT_EVENT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "transport/fd.h"
#include "transport/poller.h"
#include "transport/receive_ring.h"
#include "transport/sync.h"

namespace sockrpc {

class ClientConnection;

namespace internal {
class ClientCallbackCall;
}  // namespace internal

class ClientEventLoop {
 public:
  // The name of the loop's thread (at most 15 characters, Linux's limit).
  static constexpr char kThreadName[] = "sockrpc-client";

  ClientEventLoop() = default;
  // Requires Shutdown() first if the loop was started.
  ~ClientEventLoop();
  ClientEventLoop(const ClientEventLoop&) = delete;
  ClientEventLoop& operator=(const ClientEventLoop&) = delete;

  // Makes the epoll instance and starts the thread, the first time; then
  // OK at once. UNAVAILABLE once shut down, or if the system refused.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);

  // Takes `call` (made on this loop), to delete once it is over; its
  // Start() or Attach() schedules it. Returns null, or
  // `call` itself if the loop no longer takes calls (its thread has ended
  // or it was never started).
  std::unique_ptr<internal::ClientCallbackCall> Adopt(
      std::unique_ptr<internal::ClientCallbackCall> call)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Asks the loop to advance `call` (an adopted one) soon. Any thread; a
  // call of the loop thread's own takes no lock and wakes nobody.
  void Schedule(internal::ClientCallbackCall* call) ABSL_LOCKS_EXCLUDED(mu_);

  // The loop watches `connection` while it has callback calls: one
  // Watch() per call, one Unwatch() when the call is over. The first
  // registers its socket (every Watch() returns with it registered); the
  // caller then re-arms it (ClientConnection::RearmForLoop()).
  void Watch(const std::shared_ptr<ClientConnection>& connection, int fd)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Unwatch(ClientConnection* connection, int fd) ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes the loop if it sleeps (a blocking caller wants the reader role
  // the loop holds while it waits for its solo connection). Any thread;
  // callers may hold a connection's mu_.
  void WakeUp() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether the caller is the loop's thread (running a reaction).
  bool OnLoopThread() const {
    return std::this_thread::get_id() ==
           loop_thread_.load(std::memory_order_relaxed);
  }
  // Loop thread: writes what `connection` holds (calls its reactions
  // started, ClientConnection::Open()'s `hold_for_loop`) at the end of
  // this turn, before the loop waits.
  void FlushAfterTurn(std::shared_ptr<ClientConnection> connection);

  // Arms the edge-triggered registration of a watched `connection` for
  // `events` (EPOLLIN, EPOLLOUT); nothing if it is not watched, or if it
  // is armed for exactly these already, without output, and
  // `report_again` is false. `report_again`: bytes may be left in the
  // socket that no new edge will report (the loop stopped reading early,
  // or another thread held the reader role); the modification reports
  // them. The caller holds the connection's mu_
  // (ClientConnection::RearmLocked()): the check without the loop's lock
  // relies on it (see the .cc).
  void Arm(ClientConnection* connection, int fd, uint32_t events,
           bool report_again) ABSL_LOCKS_EXCLUDED(mu_);

  // Stops `loop`: every call still in flight is cancelled and gets
  // OnDone(), then the thread ends. From another thread, waits for that
  // (joins); from the loop thread itself (a reaction destroying the
  // Channel), returns at once and the thread finishes the work and ends
  // by itself, keeping `loop` alive until then.
  static void Shutdown(std::shared_ptr<ClientEventLoop> loop);

  // For a forked child abandoning this loop (client/channel.h): the
  // descriptors Start() made, the epoll instance and the eventfd (-1 if
  // not started). Read without mu_, which a thread of the parent may have
  // held at fork() time.
  int epoll_fd_for_fork() const {
    return epoll_fd_number_.load(std::memory_order_acquire);
  }
  int wake_fd_for_fork() const {
    return wake_fd_number_.load(std::memory_order_acquire);
  }
  // The ring's descriptor (-1 if none).
  int ring_fd_for_fork() const {
    return ring_fd_number_.load(std::memory_order_acquire);
  }

 private:
  void Run();
  // Advances the scheduled calls; retires those that are over.
  void RunScheduled();
  // Ends the calls whose deadline has passed; returns the time-out for
  // epoll_wait until the next one (-1: none).
  int ExpireDeadlines();
  // epoll_wait's time-out (milliseconds, rounded up) until `when`.
  static int TimeoutMillis(absl::Time when, absl::Time now);
  // Keepalive (ChannelOptions::keepalive_time) for the watched connections
  // that have it, when one is due (ClientConnection::KeepAliveForLoop());
  // returns `timeout_ms` (-1: none), shortened to the next such look.
  int KeepWatchedAlive(int timeout_ms) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes what FlushAfterTurn() was asked to. Loop thread.
  void FlushHeldCalls();
  // Handles an event on the watched connection tagged `tag`.
  void HandleConnectionEvent(uint64_t tag, uint32_t events);
  // Notes when a connection's keepalive wants its next look (from a read).
  void NoteKeepaliveLook(absl::Time look) ABSL_LOCKS_EXCLUDED(mu_);
  // The loop's sleep while one connection alone is watched: waits for
  // solo_'s bytes through the ring until `timeout_ms` (-1: no limit) and
  // reads them, making `alone` solo first if solo_ is null (and it may
  // be). False if the loop must wait in epoll_wait() instead (refused, no
  // ring); else `*woken`: epoll has something.
  bool SleepOnSolo(std::shared_ptr<ClientConnection> alone, int timeout_ms,
                   bool* woken);
  // The connection leaves solo: its input back in its registration.
  void EndSolo();
  // After OnDone(): forgets `call` and deletes it (now, or when taken from
  // the ready list). Loop thread.
  void Retire(internal::ClientCallbackCall* call);
  // While shutting down: abandons the calls not abandoned yet. True once
  // no call is left.
  bool Sweep();

  Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // started_ and not stopping_, for Start() to see without the lock (set
  // under it). A Start() that sees it just before Shutdown() clears it
  // returns OK as one that took the lock just before would: the call it
  // precedes is adopted and swept.
  std::atomic<bool> taking_calls_{false};
  // Shutdown() was called; the loop ends once no call is left.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The thread has ended: Adopt() refuses.
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  // The thread is in (or about to enter) epoll_wait or its ring's wait:
  // Schedule() from another thread signals wake_fd_ once and clears it.
  bool sleeping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Poller> poller_;  // set once by Start(), under mu_
  Fd wake_fd_;                    // likewise
  std::thread thread_;
  // The numbers of poller_'s and wake_fd_'s descriptors, for the child of
  // a fork() (see epoll_fd_for_fork()).
  std::atomic<int> epoll_fd_number_{-1};
  std::atomic<int> wake_fd_number_{-1};
  // thread_'s id, set by the thread itself first thing (OnLoopThread()):
  // no other thread ever finds it equal to its own id, set yet or not.
  std::atomic<std::thread::id> loop_thread_{};
  // Every adopted call not yet deleted (owned: deleted by the loop).
  absl::flat_hash_set<internal::ClientCallbackCall*> calls_
      ABSL_GUARDED_BY(mu_);
  // Calls scheduled by other threads, and by the loop's own (no lock).
  std::vector<internal::ClientCallbackCall*> ready_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::ClientCallbackCall*> ready_here_;
  // Loop thread only, for RunScheduled(): the calls it advances (swapped
  // with ready_) and the retired ones it deletes; emptied after each use,
  // their capacity kept, so that a turn allocates nothing once warm.
  std::vector<internal::ClientCallbackCall*> running_;
  std::vector<internal::ClientCallbackCall*> dead_;
  // Watched connections, kept alive while watched; the key is the epoll
  // tag, so that an event for a connection no longer watched is dropped.
  // (How many calls watch it, and what its one-shot registration is armed
  // for, the connection keeps: ClientConnection::loop_calls_, loop_armed_.)
  struct Watched {
    std::shared_ptr<ClientConnection> connection;
  };
  absl::flat_hash_map<ClientConnection*, Watched> watched_ ABSL_GUARDED_BY(mu_);
  // Watched connections with keepalive; when the loop looks at them next;
  // and whether a connection watched since asks for a look now.
  // (The count changes under mu_; the loop reads it without, each turn.)
  std::atomic<int> keepalive_watched_{0};
  absl::Time keepalive_next_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool keepalive_recheck_ ABSL_GUARDED_BY(mu_) = false;
  // Keeps the loop alive while its thread finishes after a Shutdown()
  // from the loop thread; released by the thread as it ends.
  std::shared_ptr<ClientEventLoop> self_ ABSL_GUARDED_BY(mu_);

  // Loop thread only: connections whose held calls go out at the end of
  // the turn (FlushAfterTurn()).
  std::vector<std::shared_ptr<ClientConnection>> flush_due_;
  // Loop thread only: the calls' deadlines.
  std::multimap<absl::Time, internal::ClientCallbackCall*> deadlines_;
  // Loop thread only: the solo connection (null: none), and the ring the
  // loop waits in for it (made by Start(), before the thread; null where
  // io_uring cannot be used; its descriptor for a forked child in
  // ring_fd_number_).
  std::shared_ptr<ClientConnection> solo_;
  std::unique_ptr<ReceiveRing> ring_;
  std::atomic<int> ring_fd_number_{-1};
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_CLIENT_EVENT_LOOP_H_
