// Mutex and MutexLock: the one lock type of the sockrpc runtimes.
//
// A std::mutex whose holders can wait for a condition over the data it
// guards. Whoever releases the lock (Unlock(), or a holder starting to
// wait) evaluates the conditions of the waiting threads and wakes only
// those whose condition now holds, so a state change needs no explicit
// notify and wakes nobody in vain. This is the model of absl::Mutex::Await;
// the project does not use absl::Mutex itself because Debian's Abseil is
// built without ThreadSanitizer support (TSan would see no ordering through
// it) and with deadlock detection that costs ~50 ns a lock.
//
// Conditions run with the lock held, on whichever thread releases it: they
// must be cheap, must not block, and must read only data the lock guards.
#ifndef SOCKRPC_TRANSPORT_SYNC_H_
#define SOCKRPC_TRANSPORT_SYNC_H_

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace sockrpc {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  // Wakes the waiters whose condition holds, then releases the lock.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (waiters_ != nullptr) WakeReadyWaiters();
    mu_.unlock();
  }

  // Requires the lock. Releases it until `condition()` holds, then returns
  // with the lock held again.
  void Await(absl::FunctionRef<bool()> condition)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    AwaitWithDeadline(condition, absl::InfiniteFuture());
  }
  // Like Await(), but gives up at `deadline`. Returns `condition()`.
  bool AwaitWithDeadline(absl::FunctionRef<bool()> condition,
                         absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this);

 private:
  // A thread blocked in AwaitWithDeadline(); lives on its stack.
  struct Waiter {
    explicit Waiter(absl::FunctionRef<bool()> c) : condition(c) {}
    absl::FunctionRef<bool()> condition;
    std::condition_variable ready_signal;
    bool ready = false;
    Waiter* next = nullptr;
  };

  // Wakes (and unlinks) every waiter whose condition holds. Lock held.
  void WakeReadyWaiters();

  std::mutex mu_;
  Waiter* waiters_ = nullptr;  // guarded by mu_; newest first
};

// MutexLock holds a Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_SYNC_H_
