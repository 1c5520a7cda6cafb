// Tests of server/reuse_pool.h.
#include "server/reuse_pool.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(ReusePoolTest, TakeFromAnEmptyPoolMakesANewObject) {
  ReusePool<std::string> pool(2);
  std::unique_ptr<std::string> object = pool.Take();
  ASSERT_NE(object, nullptr);
  EXPECT_TRUE(object->empty());
}

TEST(ReusePoolTest, GivenObjectsComeBackNewestFirst) {
  ReusePool<std::string> pool(2);
  auto first = std::make_unique<std::string>("first");
  auto second = std::make_unique<std::string>("second");
  const std::string* first_address = first.get();
  const std::string* second_address = second.get();
  pool.Give(std::move(first));
  pool.Give(std::move(second));
  std::unique_ptr<std::string> taken = pool.Take();
  EXPECT_EQ(taken.get(), second_address);
  EXPECT_EQ(*taken, "second");  // as given: clearing is the giver's job
  std::unique_ptr<std::string> taken_too = pool.Take();
  EXPECT_EQ(taken_too.get(), first_address);
  // Empty again: a new one.
  EXPECT_TRUE(pool.Take()->empty());
}

TEST(ReusePoolTest, KeepsAtMostMaxKept) {
  ReusePool<std::string> pool(2);
  std::vector<const std::string*> given;
  for (int i = 0; i < 3; ++i) {
    auto object = std::make_unique<std::string>(std::to_string(i));
    given.push_back(object.get());
    pool.Give(std::move(object));  // one of the older two is destroyed
  }
  std::unique_ptr<std::string> a = pool.Take();
  std::unique_ptr<std::string> b = pool.Take();
  EXPECT_EQ(*a, "2");  // the newest is always kept
  EXPECT_EQ(*b, "0");
  EXPECT_TRUE(pool.Take()->empty());
}

TEST(ReusePoolTest, ThreadsTakeAndGiveConcurrently) {
  ReusePool<std::vector<int>> pool(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        std::unique_ptr<std::vector<int>> object = pool.Take();
        // Nobody else holds it while we do: what we put in stays alone.
        ASSERT_TRUE(object->empty());
        object->push_back(t);
        std::this_thread::yield();
        ASSERT_EQ(*object, std::vector<int>{t});
        object->clear();
        pool.Give(std::move(object));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace sockrpc
