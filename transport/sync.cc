#include "transport/sync.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "absl/time/clock.h"

namespace sockrpc {
namespace {

// Sleeps while *word == expected, until woken, or for `timeout` if given
// (relative). Returns early on a wake, a signal, a timeout or a word that
// already differs; the caller looks again.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               const timespec* timeout) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
            expected, timeout, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
            count, nullptr, nullptr, 0);
}

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "a futex word is a plain 32-bit integer");

}  // namespace

void Mutex::LockSlow() {
  // From here on the word says "contended" while we may sleep on it, so
  // that whoever releases it wakes one of us.
  while (word_.exchange(kContended, std::memory_order_acquire) != kFree) {
    FutexWait(&word_, kContended, nullptr);
  }
}

void Mutex::WakeOneLocker() { FutexWake(&word_, 1); }

void Mutex::WakeReadyWaiters() {
  for (Waiter** link = &waiters_; *link != nullptr;) {
    Waiter* waiter = *link;
    if (waiter->condition()) {
      *link = waiter->next;
      waiter->ready.store(1, std::memory_order_release);
      FutexWake(&waiter->ready, 1);
    } else {
      link = &waiter->next;
    }
  }
}

bool Mutex::AwaitWithDeadline(absl::FunctionRef<bool()> condition,
                              absl::Time deadline)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {  // releases and retakes the lock
  if (condition()) return true;
  // What this thread changed before waiting may be what others wait for.
  WakeReadyWaiters();
  Waiter waiter(condition);
  waiter.next = waiters_;
  waiters_ = &waiter;
  Release();
  // A wake between Release() and the sleep is not lost: the futex sleeps
  // only while `ready` is still 0.
  while (waiter.ready.load(std::memory_order_acquire) == 0) {
    if (deadline == absl::InfiniteFuture()) {
      FutexWait(&waiter.ready, 0, nullptr);
      continue;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    const timespec timeout = absl::ToTimespec(left);
    FutexWait(&waiter.ready, 0, &timeout);
  }
  Lock();
  if (waiter.ready.load(std::memory_order_relaxed) == 0) {
    // Timed out: unlink ourselves (a waker unlinks the waiters it wakes).
    for (Waiter** link = &waiters_; *link != nullptr; link = &(*link)->next) {
      if (*link == &waiter) {
        *link = waiter.next;
        break;
      }
    }
  }
  return condition();
}

}  // namespace sockrpc
