#include "transport/sync.h"

#include <algorithm>
#include <chrono>

#include "absl/time/clock.h"

namespace sockrpc {

void Mutex::WakeReadyWaiters() {
  for (Waiter** link = &waiters_; *link != nullptr;) {
    Waiter* waiter = *link;
    if (waiter->condition()) {
      waiter->ready = true;
      *link = waiter->next;
      waiter->ready_signal.notify_one();
    } else {
      link = &waiter->next;
    }
  }
}

bool Mutex::AwaitWithDeadline(absl::FunctionRef<bool()> condition,
                              absl::Time deadline) {
  if (condition()) return true;
  // What this thread changed before waiting may be what others wait for.
  WakeReadyWaiters();
  Waiter waiter(condition);
  waiter.next = waiters_;
  waiters_ = &waiter;
  std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
  if (deadline == absl::InfiniteFuture()) {
    while (!waiter.ready) waiter.ready_signal.wait(lock);
  } else {
    const auto until =
        std::chrono::steady_clock::now() +
        absl::ToChronoNanoseconds(
            std::max(deadline - absl::Now(), absl::ZeroDuration()));
    while (!waiter.ready) {
      if (waiter.ready_signal.wait_until(lock, until) ==
          std::cv_status::timeout) {
        break;
      }
    }
  }
  if (!waiter.ready) {
    // Timed out: unlink ourselves (a waker unlinks the waiters it wakes).
    for (Waiter** link = &waiters_; *link != nullptr; link = &(*link)->next) {
      if (*link == &waiter) {
        *link = waiter.next;
        break;
      }
    }
  }
  lock.release();  // the caller still holds the lock
  return condition();
}

}  // namespace sockrpc
