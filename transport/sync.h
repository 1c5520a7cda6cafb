// Mutex and MutexLock: the one lock type of the sockrpc runtimes.
//
// A lock whose holders can wait for a condition over the data it guards.
// Whoever releases the lock (Unlock(), or a holder starting to wait)
// evaluates the conditions of the waiting threads and wakes only those
// whose condition now holds, so a state change needs no explicit notify
// and wakes nobody in vain. This is the model of absl::Mutex::Await; the
// project does not use absl::Mutex itself because Debian's Abseil is built
// without ThreadSanitizer support (TSan would see no ordering through it)
// and with deadlock detection that costs ~50 ns a lock.
//
// The lock itself is one 32-bit word and a Linux futex (the three-state
// mutex of Drepper's "Futexes Are Tricky"): taking and releasing a free
// lock is one atomic instruction each, inline, where a std::mutex goes
// through pthread_mutex_lock/unlock (~30 instructions a pair more, and 40
// bytes instead of 4). A thread that finds it taken sleeps in the kernel
// until the holder releases it; nothing spins. The word's states:
//
//            Lock(): CAS 0->1              Lock() finds it taken:
//   kFree(0) ---------------> kTaken(1) -----------------------+
//      ^  ^                      |         exchange(2), sleep   |
//      |  +----------------------+                              v
//      |   Unlock(): exchange(0)        kContended(2) <---------+
//      |   (was 1: nobody to wake)           |  ^  a woken locker takes
//      +-------------------------------------+  |  it as 2 (others may
//        Unlock(): exchange(0) was 2:        +--+  still sleep)
//        wake one sleeper
//
// A thread in Await() sleeps on a futex word of its own (Waiter::ready),
// set to 1 by the releaser that finds its condition true.
//
// Under ThreadSanitizer the lock is annotated as one (__tsan_mutex_*), so
// TSan checks its users as it checks users of pthread mutexes (races, lock
// order, double locking).
//
// Conditions run with the lock held, on whichever thread releases it: they
// must be cheap, must not block, and must read only data the lock guards.
#ifndef SOCKRPC_TRANSPORT_SYNC_H_
#define SOCKRPC_TRANSPORT_SYNC_H_

#include <atomic>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "transport/thread_sanitizer.h"
#ifdef SOCKRPC_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace sockrpc {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
#ifdef SOCKRPC_THREAD_SANITIZER
  ~Mutex() { __tsan_mutex_destroy(this, __tsan_mutex_not_static); }
#endif

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
#ifdef SOCKRPC_THREAD_SANITIZER
    __tsan_mutex_pre_lock(this, __tsan_mutex_not_static);
#endif
    uint32_t free = kFree;
    if (ABSL_PREDICT_FALSE(!word_.compare_exchange_strong(
            free, kTaken, std::memory_order_acquire,
            std::memory_order_relaxed))) {
      LockSlow();
    }
#ifdef SOCKRPC_THREAD_SANITIZER
    __tsan_mutex_post_lock(this, __tsan_mutex_not_static, 0);
#endif
  }
  // Wakes the waiters whose condition holds, then releases the lock.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (ABSL_PREDICT_FALSE(waiters_ != nullptr)) WakeReadyWaiters();
    Release();
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
  // word_'s states. kContended: taken, and some thread may sleep on it.
  static constexpr uint32_t kFree = 0;
  static constexpr uint32_t kTaken = 1;
  static constexpr uint32_t kContended = 2;

  // A thread blocked in AwaitWithDeadline(); lives on its stack, which it
  // leaves only with the lock held again, so a waker (which holds the lock)
  // may touch it until it releases the lock.
  struct Waiter {
    explicit Waiter(absl::FunctionRef<bool()> c) : condition(c) {}
    absl::FunctionRef<bool()> condition;
    std::atomic<uint32_t> ready{0};  // 1 once woken; a futex word
    Waiter* next = nullptr;
  };

  // The slow paths stay out of line, so that Lock() and Unlock() inline
  // everywhere, with link-time optimization too.
  //
  // Lock() when the word was not free: marks it contended and sleeps until
  // it is released, as often as others take it first.
  ABSL_ATTRIBUTE_NOINLINE void LockSlow();
  // Releases the lock (waiters already seen to), waking one sleeper if
  // any may sleep.
  void Release() {
#ifdef SOCKRPC_THREAD_SANITIZER
    __tsan_mutex_pre_unlock(this, __tsan_mutex_not_static);
#endif
    if (ABSL_PREDICT_FALSE(word_.exchange(kFree, std::memory_order_release) ==
                           kContended)) {
      WakeOneLocker();
    }
#ifdef SOCKRPC_THREAD_SANITIZER
    __tsan_mutex_post_unlock(this, __tsan_mutex_not_static);
#endif
  }
  ABSL_ATTRIBUTE_NOINLINE void WakeOneLocker();
  // Wakes (and unlinks) every waiter whose condition holds. Lock held.
  ABSL_ATTRIBUTE_NOINLINE void WakeReadyWaiters();

  std::atomic<uint32_t> word_{kFree};
  Waiter* waiters_ = nullptr;  // guarded by the lock; newest first
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
