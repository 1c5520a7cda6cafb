// MessageQueue: oldest first, whatever the mix of pushes and pops.
#include "transport/message_queue.h"

#include <deque>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

TEST(MessageQueueTest, MessagesComeOutOldestFirstAcrossAnyMixOfPushAndPop) {
  MessageQueue queue;
  std::deque<std::string> expected;  // the model
  int next = 0;
  // Runs of pushes and pops of every length up to 4, so that the inline
  // oldest message and the overflow are filled and drained in every order.
  for (int pushes = 0; pushes <= 4; ++pushes) {
    for (int pops = 0; pops <= 4; ++pops) {
      for (int i = 0; i < pushes; ++i) {
        std::string message = absl::StrCat("message ", next++);
        queue.Push(message);
        expected.push_back(message);
      }
      for (int i = 0; i < pops && !expected.empty(); ++i) {
        ASSERT_FALSE(queue.empty());
        EXPECT_EQ(queue.Pop(), expected.front());
        expected.pop_front();
      }
      EXPECT_EQ(queue.empty(), expected.empty());
    }
  }
  while (!expected.empty()) {
    ASSERT_FALSE(queue.empty());
    EXPECT_EQ(queue.Pop(), expected.front());
    expected.pop_front();
  }
  EXPECT_TRUE(queue.empty());
}

TEST(MessageQueueTest, ClearEmptiesItAndItCanBeUsedAgain) {
  MessageQueue queue;
  queue.Push("a");
  queue.Push("b");
  queue.Push("c");
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  queue.Push("d");
  EXPECT_EQ(queue.Pop(), "d");
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace sockrpc
