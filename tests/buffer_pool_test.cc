// BufferPool: which buffers it keeps, and which it hands back.
#include "transport/buffer_pool.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(BufferPoolTest, KeepsOnlyLargeBuffersWithinItsBounds) {
  BufferPool pool(/*max_buffers=*/2, /*max_capacity=*/1 << 20);
  pool.Give(std::string(100, 's'));  // small: the slot's, not counted
  EXPECT_EQ(pool.bytes_kept(), 0u);
  pool.Give(std::string(2 << 20, 'l'));  // too large to keep
  EXPECT_EQ(pool.bytes_kept(), 0u);
  pool.Give(std::string(100 * 1024, 'a'));
  pool.Give(std::string(300 * 1024, 'b'));
  pool.Give(std::string(200 * 1024, 'c'));  // full: replaces the smallest
  std::string taken = pool.TakeAtLeast(150 * 1024);
  EXPECT_EQ(taken[0], 'c');  // the smallest that is large enough
  EXPECT_EQ(taken.size(), 200u * 1024);  // handed back as it was
  EXPECT_EQ(pool.Take()[0], 'b');
  EXPECT_EQ(pool.Take(), std::string(100, 's'));  // then the small one
  EXPECT_TRUE(pool.Take().empty());
  pool.Give(std::move(taken));
  pool.Clear();
  EXPECT_EQ(pool.bytes_kept(), 0u);
}

TEST(BufferPoolTest, KeepsTheLargerOfTwoSmallBuffersWithoutALock) {
  BufferPool pool(/*max_buffers=*/2, /*max_capacity=*/1 << 20);
  std::string small(200, 'x');
  const char* storage = small.data();
  pool.Give(std::move(small));
  pool.Give(std::string(100, 'y'));  // smaller: freed
  std::string taken = pool.Take();
  EXPECT_EQ(taken.data(), storage);  // the same memory, no new allocation
  EXPECT_EQ(taken, std::string(200, 'x'));
  EXPECT_TRUE(pool.Take().empty());
  pool.Give(std::move(taken));
  pool.Clear();
  EXPECT_TRUE(pool.Take().empty());
}

TEST(BufferPoolTest, ThreadsShareTheSmallSlot) {
  BufferPool pool(/*max_buffers=*/2, /*max_capacity=*/1 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string buffer = pool.Take();
        buffer.assign(64 + t, static_cast<char>('a' + t));
        // Nobody else writes it while this thread holds it.
        ASSERT_EQ(buffer, std::string(64 + t, static_cast<char>('a' + t)));
        pool.Give(std::move(buffer));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace sockrpc
