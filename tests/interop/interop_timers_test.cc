// TimerQueue (interop_timers.h): callbacks run in time order and not
// before their time, a cancelled one never runs, Cancel() waits out a
// running callback (but not from inside it), and destruction drops what is
// pending.
#include "tests/interop/interop_timers.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/sync.h"

namespace sockrpc::interop {
namespace {

// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(10);

// What the callbacks did, in order, for the tests to wait on.
class Log {
 public:
  void Add(int event) {
    MutexLock lock(&mu_);
    events_.push_back(event);
  }
  // Waits until `n` events are logged; false after kTimeout.
  bool WaitFor(size_t n) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return events_.size() >= n; },
        absl::Now() + kTimeout);
  }
  std::vector<int> events() {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  Mutex mu_;
  std::vector<int> events_ ABSL_GUARDED_BY(mu_);
};

TEST(InteropTimersTest, RunsCallbacksInTimeOrderAndNotBeforeTheirTime) {
  Log log;  // outlives the timers' thread
  std::vector<absl::Time> ran(4);
  TimerQueue timers;
  const absl::Time start = absl::Now();
  auto at = [&](int event, absl::Duration after) {
    timers.Schedule(start + after, [&, event] {
      ran[event] = absl::Now();
      log.Add(event);
    });
  };
  at(3, absl::Milliseconds(60));
  at(1, absl::Milliseconds(20));
  at(2, absl::Milliseconds(40));
  at(0, absl::ZeroDuration());
  ASSERT_TRUE(log.WaitFor(4));
  EXPECT_EQ(log.events(), (std::vector<int>{0, 1, 2, 3}));
  for (int event = 0; event < 4; ++event) {
    EXPECT_GE(ran[event], start + absl::Milliseconds(20 * event)) << event;
  }
}

TEST(InteropTimersTest, EarlierTimerScheduledWhileWaitingRunsFirst) {
  Log log;  // outlives the timers' thread
  TimerQueue timers;
  timers.Schedule(absl::Now() + absl::Hours(1), [&] { log.Add(1); });
  absl::SleepFor(absl::Milliseconds(10));  // the thread waits for the hour
  const absl::Time start = absl::Now();
  timers.Schedule(start + absl::Milliseconds(10), [&] { log.Add(0); });
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(log.events(), std::vector<int>{0});
  EXPECT_EQ(timers.pending(), 1u);
}

TEST(InteropTimersTest, CancelledCallbackNeverRuns) {
  Log log;  // outlives the timers' thread
  TimerQueue timers;
  const TimerQueue::Id cancelled = timers.Schedule(
      absl::Now() + absl::Milliseconds(20), [&] { log.Add(0); });
  timers.Schedule(absl::Now() + absl::Milliseconds(40), [&] { log.Add(1); });
  EXPECT_TRUE(timers.Cancel(cancelled));
  EXPECT_FALSE(timers.Cancel(cancelled));  // once only
  EXPECT_FALSE(timers.Cancel(0));          // no timer
  ASSERT_TRUE(log.WaitFor(1));
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_EQ(log.events(), std::vector<int>{1});
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(InteropTimersTest, CancelAfterTheCallbackRanReturnsFalse) {
  Log log;  // outlives the timers' thread
  TimerQueue timers;
  const TimerQueue::Id id = timers.Schedule(absl::Now(), [&] { log.Add(0); });
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_FALSE(timers.Cancel(id));
}

TEST(InteropTimersTest, CancelWaitsForTheRunningCallbackToReturn) {
  std::atomic<bool> started{false};
  std::atomic<bool> returned{false};
  TimerQueue timers;
  const TimerQueue::Id id = timers.Schedule(absl::Now(), [&] {
    started.store(true);
    absl::SleepFor(absl::Milliseconds(100));  // a slow callback, for the test
    returned.store(true);
  });
  const absl::Time give_up = absl::Now() + kTimeout;
  while (!started.load() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(started.load());
  EXPECT_FALSE(timers.Cancel(id));
  EXPECT_TRUE(returned.load());
}

TEST(InteropTimersTest, CallbackMayCancelItselfAndScheduleMore) {
  Log log;  // outlives the timers' thread
  TimerQueue::Id first = 0;
  Mutex mu;  // orders `first`'s write before the callback's read
  TimerQueue timers;
  {
    MutexLock lock(&mu);
    first = timers.Schedule(absl::Now(), [&] {
      TimerQueue::Id self;
      {
        MutexLock lock(&mu);
        self = first;
      }
      log.Add(timers.Cancel(self) ? 1 : 0);  // returns at once, false
      timers.Schedule(absl::Now(), [&] { log.Add(2); });
    });
  }
  ASSERT_TRUE(log.WaitFor(2));
  EXPECT_EQ(log.events(), (std::vector<int>{0, 2}));
}

TEST(InteropTimersTest, DestructionDropsPendingCallbacksPromptly) {
  auto captured = std::make_shared<int>(0);
  std::atomic<bool> ran{false};
  const absl::Time start = absl::Now();
  {
    TimerQueue timers;
    timers.Schedule(absl::Now() + absl::Hours(1),
                    [captured, &ran] { ran.store(true); });
    EXPECT_EQ(captured.use_count(), 2);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(captured.use_count(), 1);  // the callback and its captures went
}

TEST(InteropTimersTest, ManyThreadsScheduleAndCancelAtOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::atomic<int> ran{0};
  std::atomic<int> cancelled{0};
  TimerQueue timers;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const TimerQueue::Id id =
            timers.Schedule(absl::Now() + absl::Microseconds((i * 7 + t) % 500),
                            [&] { ran.fetch_add(1); });
        if (i % 2 == 0 && timers.Cancel(id)) cancelled.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Time give_up = absl::Now() + kTimeout;
  while (ran.load() + cancelled.load() < kThreads * kPerThread &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(ran.load() + cancelled.load(), kThreads * kPerThread);
  EXPECT_EQ(timers.pending(), 0u);
}

}  // namespace
}  // namespace sockrpc::interop
