#include "tests/interop/interop_timers.h"

#include <utility>

#include "absl/time/clock.h"

namespace sockrpc {
namespace interop {

TimerQueue::TimerQueue() : thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() {
  Queue dropped;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(queue_);
    due_.clear();
  }
  thread_.join();
  // `dropped` goes here, outside the lock: its callbacks' captures may
  // have destructors of their own.
}

TimerQueue::Id TimerQueue::Schedule(absl::Time when,
                                    std::function<void()> callback) {
  MutexLock lock(&mu_);
  const Id id = ++last_id_;
  queue_.emplace(std::make_pair(when, id), std::move(callback));
  due_.emplace(id, when);
  // The thread's wait condition sees a new first entry when the lock goes.
  return id;
}

bool TimerQueue::Cancel(Id id) {
  std::function<void()> cancelled;  // destroyed outside the lock
  MutexLock lock(&mu_);
  auto due = due_.find(id);
  if (due != due_.end()) {
    auto pending = queue_.find(std::make_pair(due->second, id));
    cancelled = std::move(pending->second);
    queue_.erase(pending);
    due_.erase(due);
    return true;
  }
  if (id != 0 && running_ == id &&
      std::this_thread::get_id() != thread_.get_id()) {
    mu_.Await([this, id]()
                  ABSL_NO_THREAD_SAFETY_ANALYSIS { return running_ != id; });
  }
  return false;
}

size_t TimerQueue::pending() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void TimerQueue::Run() {
  mu_.Lock();
  while (!stopping_) {
    if (queue_.empty()) {
      mu_.Await([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || !queue_.empty();
      });
      continue;
    }
    const absl::Time next = queue_.begin()->first.first;
    if (absl::Now() < next) {
      // Until the first is due, or an earlier one (or a stop) comes.
      mu_.AwaitWithDeadline(
          [this, next]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return stopping_ || queue_.empty() ||
                   queue_.begin()->first.first < next;
          },
          next);
      continue;
    }
    auto first = queue_.begin();
    const Id id = first->first.second;
    std::function<void()> callback = std::move(first->second);
    queue_.erase(first);
    due_.erase(id);
    running_ = id;
    mu_.Unlock();
    callback();
    callback = nullptr;  // its captures go before Cancel() may return
    mu_.Lock();
    running_ = 0;  // wakes a Cancel() waiting for it
  }
  mu_.Unlock();
}

}  // namespace interop
}  // namespace sockrpc
