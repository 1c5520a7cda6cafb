// BlockRecycler and RecyclingAllocator: which blocks come back, and that
// allocate_shared objects live and die as usual on recycled memory.
#include "transport/block_recycler.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(BlockRecyclerTest, AFreedBlockIsTheNextOneOfItsSize) {
  BlockRecycler recycler(/*max_kept=*/2);
  void* first = recycler.Allocate(64);
  recycler.Deallocate(first, 64);
  EXPECT_EQ(recycler.Allocate(64), first);
  recycler.Deallocate(first, 64);
}

TEST(BlockRecyclerTest, OtherSizesAreNotKept) {
  BlockRecycler recycler(/*max_kept=*/2);
  void* block = recycler.Allocate(64);  // 64 is the size kept from now on
  void* other = recycler.Allocate(128);
  recycler.Deallocate(other, 128);  // freed, not kept
  void* again = recycler.Allocate(128);
  recycler.Deallocate(again, 128);
  recycler.Deallocate(block, 64);
  EXPECT_EQ(recycler.Allocate(64), block);
  recycler.Deallocate(block, 64);
}

TEST(BlockRecyclerTest, KeepsAtMostMaxKept) {
  BlockRecycler recycler(/*max_kept=*/2);
  void* blocks[3];
  for (void*& block : blocks) block = recycler.Allocate(32);
  for (void* block : blocks) recycler.Deallocate(block, 32);
  // The newest (blocks[2]) and one older are kept; the third was freed.
  void* a = recycler.Allocate(32);
  void* b = recycler.Allocate(32);
  EXPECT_EQ(a, blocks[2]);
  EXPECT_TRUE(b == blocks[0] || b == blocks[1]);
  recycler.Deallocate(a, 32);
  recycler.Deallocate(b, 32);
}

struct Counted {
  explicit Counted(int* alive, std::string text)
      : alive(alive), text(std::move(text)) {
    ++*alive;
  }
  ~Counted() { --*alive; }
  int* alive;
  std::string text;
};

TEST(BlockRecyclerTest, AllocateSharedObjectsReuseTheirMemory) {
  BlockRecycler recycler(/*max_kept=*/4);
  int alive = 0;
  const void* first_address = nullptr;
  for (int i = 0; i < 10; ++i) {
    auto object = std::allocate_shared<Counted>(
        RecyclingAllocator<Counted>(&recycler), &alive, std::to_string(i));
    EXPECT_EQ(alive, 1);
    EXPECT_EQ(object->text, std::to_string(i));
    if (i == 0) first_address = object.get();
    EXPECT_EQ(object.get(), first_address);  // the same block each time
    std::weak_ptr<Counted> weak = object;
    object.reset();
    EXPECT_EQ(alive, 0);
    EXPECT_TRUE(weak.expired());
  }
}

TEST(BlockRecyclerTest, ThreadsAllocateAndFreeConcurrently) {
  BlockRecycler recycler(/*max_kept=*/4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&recycler, t] {
      for (int i = 0; i < 2000; ++i) {
        auto* block = static_cast<int*>(recycler.Allocate(sizeof(int) * 4));
        block[0] = t;
        std::this_thread::yield();
        // Nobody else holds it while this thread does.
        ASSERT_EQ(block[0], t);
        recycler.Deallocate(block, sizeof(int) * 4);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace sockrpc
