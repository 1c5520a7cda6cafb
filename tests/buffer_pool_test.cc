// BufferPool: which buffers it keeps, and which it hands back.
#include "transport/buffer_pool.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(BufferPoolTest, KeepsOnlyLargeBuffersWithinItsBounds) {
  BufferPool pool(/*max_buffers=*/2, /*max_capacity=*/1 << 20);
  pool.Give(std::string(100, 's'));  // too small to keep
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
  EXPECT_TRUE(pool.Take().empty());
  pool.Give(std::move(taken));
  pool.Clear();
  EXPECT_EQ(pool.bytes_kept(), 0u);
}

}  // namespace
}  // namespace sockrpc
