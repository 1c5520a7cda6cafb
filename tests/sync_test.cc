// Tests of transport/sync.h: the runtimes' one lock (a futex word) and its
// conditional waits. Run under ThreadSanitizer too (build.sh's TSan list),
// which checks the lock's annotations as well as its users.
#include "transport/sync.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

// Threads that each add to a counter under the lock many times lose no
// increment: the lock excludes, and a thread that found it taken (asleep
// on the futex) is woken when it is released.
TEST(SyncTest, LockExcludesUnderContention) {
  Mutex mu;
  int64_t counter = 0;  // guarded by mu
  constexpr int kThreads = 4;
  constexpr int kRounds = 200'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  MutexLock lock(&mu);
  EXPECT_EQ(counter, int64_t{kThreads} * kRounds);
}

// A holder that keeps the lock a while makes others sleep on it; each gets
// it once it is released, and sees what the holder wrote.
TEST(SyncTest, SleepersGetTheLockWhenReleased) {
  Mutex mu;
  int value = 0;  // guarded by mu
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  std::vector<int> seen(3, -1);
  mu.Lock();
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      started.fetch_add(1);
      MutexLock lock(&mu);
      seen[t] = value;
    });
  }
  // No sleep: the lockers may or may not have reached the lock yet; either
  // way each must see the value written under the lock before release.
  while (started.load() < 3) std::this_thread::yield();
  value = 42;
  mu.Unlock();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(seen, std::vector<int>({42, 42, 42}));
}

// Await returns once another holder makes the condition true, and only
// then; the waiter is not woken by changes that leave it false.
TEST(SyncTest, AwaitWakesWhenTheConditionHolds) {
  Mutex mu;
  int stage = 0;        // guarded by mu
  int evaluations = 0;  // guarded by mu
  std::thread waiter([&] {
    MutexLock lock(&mu);
    mu.Await([&] {
      ++evaluations;
      return stage == 3;
    });
    EXPECT_EQ(stage, 3);
    stage = 4;
  });
  for (int next = 1; next <= 3; ++next) {
    MutexLock lock(&mu);
    stage = next;
  }
  waiter.join();
  MutexLock lock(&mu);
  EXPECT_EQ(stage, 4);
  EXPECT_GE(evaluations, 1);
}

// Several waiters with different conditions: each release wakes exactly
// those whose condition holds, in whatever order they wait.
TEST(SyncTest, EachWaiterWakesForItsOwnCondition) {
  Mutex mu;
  int turn = 0;            // guarded by mu
  std::vector<int> order;  // guarded by mu
  constexpr int kWaiters = 5;
  std::vector<std::thread> threads;
  for (int w = kWaiters; w >= 1; --w) {
    threads.emplace_back([&, w] {
      MutexLock lock(&mu);
      mu.Await([&] { return turn == w; });
      order.push_back(w);
      ++turn;  // lets the next one go, from inside the lock
    });
  }
  {
    MutexLock lock(&mu);
    turn = 1;
  }
  for (std::thread& thread : threads) thread.join();
  MutexLock lock(&mu);
  EXPECT_EQ(order, std::vector<int>({1, 2, 3, 4, 5}));
}

// AwaitWithDeadline gives up at its deadline with the lock held again and
// unlinks itself: a later release does not touch the gone waiter (ASan
// would see a use of its stack), and a later Await still works.
TEST(SyncTest, AwaitWithDeadlineTimesOutAndUnlinks) {
  Mutex mu;
  bool flag = false;  // guarded by mu
  {
    MutexLock lock(&mu);
    const absl::Time start = absl::Now();
    EXPECT_FALSE(mu.AwaitWithDeadline([&] { return flag; },
                                      start + absl::Milliseconds(20)));
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
    flag = false;  // the lock is held: this write is ours alone
  }
  std::thread setter([&] {
    MutexLock lock(&mu);
    flag = true;
  });
  {
    MutexLock lock(&mu);
    EXPECT_TRUE(mu.AwaitWithDeadline([&] { return flag; },
                                     absl::Now() + absl::Seconds(30)));
  }
  setter.join();
}

// A deadline already past returns the condition at once, true or false.
TEST(SyncTest, PastDeadlineReturnsTheCondition) {
  Mutex mu;
  MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithDeadline([] { return true; }, absl::InfinitePast()));
  EXPECT_FALSE(
      mu.AwaitWithDeadline([] { return false; }, absl::InfinitePast()));
}

// A waiter whose condition a thread makes true just before it waits is not
// lost: many rounds of hand-over between two threads, each waiting for the
// other's turn, finish (a lost wake would hang; ctest's timeout bounds it).
TEST(SyncTest, HandOverRoundsLoseNoWake) {
  Mutex mu;
  int turn = 0;  // guarded by mu: even for the first thread, odd the second
  constexpr int kRounds = 20'000;
  auto play = [&](int parity) {
    for (int i = 0; i < kRounds; ++i) {
      MutexLock lock(&mu);
      mu.Await([&] { return turn % 2 == parity; });
      ++turn;
    }
  };
  std::thread first(play, 0);
  std::thread second(play, 1);
  first.join();
  second.join();
  MutexLock lock(&mu);
  EXPECT_EQ(turn, 2 * kRounds);
}

}  // namespace
}  // namespace sockrpc
