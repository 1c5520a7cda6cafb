// TimerQueue: runs callbacks at chosen times on one thread of its own, so
// that a reactor can wait (a pause between replies, a sleeping call)
// without holding a thread or blocking a reaction. Test-only: the interop
// callback service's timers.
//
//   TimerQueue timers;
//   TimerQueue::Id id = timers.Schedule(absl::Now() + absl::Seconds(1),
//                                       [reactor] { reactor->Finish(...); });
//   ...
//   if (timers.Cancel(id)) { /* it will never run */ }
//
// Callbacks run one at a time, in the order of their times (ties in the
// order they were scheduled), on the queue's thread. They must be short
// and must not block: every timer waits behind the one running. A reactor's
// Start*() and Finish() qualify (server/server_callback.h).
//
// Thread-safe: Schedule() and Cancel() may be called from any thread,
// callbacks included.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_TIMERS_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_TIMERS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "transport/sync.h"

namespace sockrpc {
namespace interop {

class TimerQueue {
 public:
  // Names one scheduled callback; never reused by the same queue. Zero is
  // never an id, so it may stand for "no timer".
  using Id = uint64_t;

  // Starts the queue's thread.
  TimerQueue();
  // Drops the callbacks still pending without running them, waits for a
  // running one to return, and joins the thread. Schedule() and Cancel()
  // must not be called once destruction has begun.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Schedule runs `callback` on the queue's thread at `when` (at once if
  // `when` has passed) unless Cancel(id) comes first.
  Id Schedule(absl::Time when, std::function<void()> callback);

  // Cancel makes sure the callback of `id` is not running and never will
  // again. Returns true if it was still pending, so it will never run;
  // false if it has run already, or is unknown. If it is running on
  // another thread right now, Cancel waits for it to return (a short wait:
  // callbacks do not block), so that once Cancel returns the callback no
  // longer touches what it captured; called from inside that callback, it
  // returns false at once.
  bool Cancel(Id id);

  // How many callbacks are pending (scheduled, neither run nor cancelled).
  size_t pending() const;

 private:
  // Pending callbacks by (time, id): the first is the next due.
  using Queue = std::map<std::pair<absl::Time, Id>, std::function<void()>>;

  // The queue's thread: runs each callback when due, until stopping_.
  void Run();

  mutable Mutex mu_;
  Queue queue_ ABSL_GUARDED_BY(mu_);
  // When each pending id is due, to find it in queue_.
  std::map<Id, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  Id last_id_ ABSL_GUARDED_BY(mu_) = 0;
  // The callback running on thread_ now; 0 for none.
  Id running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started in the constructor, joined in the destructor
};

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_TIMERS_H_
