// StreamTable (transport/stream_table.h) against a std::map doing the same.
#include "transport/stream_table.h"

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sockrpc {
namespace {

using Table = StreamTable<std::shared_ptr<int>>;

std::vector<uint32_t> Ids(const Table& table) {
  std::vector<uint32_t> ids;
  table.ForEach([&](uint32_t id, const std::shared_ptr<int>& value) {
    EXPECT_EQ(*value, static_cast<int>(id));
    ids.push_back(id);
  });
  return ids;
}

TEST(StreamTableTest, LoneCallComesAndGoes) {
  Table table;
  for (uint32_t id = 1; id < 100; id += 2) {
    table.Add(id, std::make_shared<int>(id));
    ASSERT_NE(table.Find(id), nullptr);
    EXPECT_EQ(**table.Find(id), static_cast<int>(id));
    EXPECT_EQ(table.Find(id + 2), nullptr);
    std::shared_ptr<int> taken = table.Take(id);
    ASSERT_NE(taken, nullptr);
    EXPECT_EQ(*taken, static_cast<int>(id));
    EXPECT_TRUE(table.empty());
    EXPECT_EQ(table.slots(), 0u);
    EXPECT_EQ(table.Take(id), nullptr);  // gone
  }
}

TEST(StreamTableTest, UnknownIdsFindNothing) {
  Table table;
  EXPECT_EQ(table.Find(7), nullptr);
  EXPECT_EQ(table.Take(7), nullptr);
  table.Add(3, std::make_shared<int>(3));
  table.Add(9, std::make_shared<int>(9));
  EXPECT_EQ(table.Find(1), nullptr);
  EXPECT_EQ(table.Find(5), nullptr);
  EXPECT_EQ(table.Find(11), nullptr);
  EXPECT_EQ(table.Take(5), nullptr);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(Ids(table), (std::vector<uint32_t>{3, 9}));
}

TEST(StreamTableTest, HoleInTheMiddleIsNotFound) {
  Table table;
  for (uint32_t id : {1, 2, 3}) table.Add(id, std::make_shared<int>(id));
  EXPECT_NE(table.Take(2), nullptr);
  EXPECT_EQ(table.Find(2), nullptr);
  EXPECT_EQ(table.Take(2), nullptr);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(Ids(table), (std::vector<uint32_t>{1, 3}));
  table.Add(4, std::make_shared<int>(4));
  EXPECT_EQ(Ids(table), (std::vector<uint32_t>{1, 3, 4}));
}

// An old call stays while many short ones come and go after it: the
// table keeps about the calls in flight, not every id it has seen.
TEST(StreamTableTest, StaysSmallBehindALongCall) {
  Table table;
  table.Add(1, std::make_shared<int>(1));
  for (uint32_t id = 2; id < 10000; id += 2) {
    table.Add(id, std::make_shared<int>(id));
    table.Add(id + 1, std::make_shared<int>(id + 1));
    ASSERT_NE(table.Take(id), nullptr);  // a hole before the newest
    ASSERT_LE(table.slots(), 2 * table.size() + 40);
  }
  EXPECT_EQ(table.size(), 1u + 4999u);
  // Now the oldest go first, the long call last.
  for (uint32_t id = 3; id < 10000; id += 2) ASSERT_NE(table.Take(id), nullptr);
  EXPECT_EQ(Ids(table), (std::vector<uint32_t>{1}));
  EXPECT_LE(table.slots(), 40u);
  EXPECT_NE(table.Take(1), nullptr);
  EXPECT_EQ(table.slots(), 0u);
}

TEST(StreamTableTest, MatchesAMapUnderRandomUse) {
  std::mt19937 random(20261206);
  Table table;
  std::map<uint32_t, std::shared_ptr<int>> model;
  uint32_t next_id = 1;
  for (int step = 0; step < 200000; ++step) {
    const int op = static_cast<int>(random() % 10);
    if (op < 4 || model.empty()) {
      next_id += 1 + random() % 3;
      auto value = std::make_shared<int>(next_id);
      table.Add(next_id, value);
      model[next_id] = value;
    } else if (op < 8) {
      // Take a random live id, or one that is not there.
      uint32_t id;
      if (random() % 4 == 0) {
        id = 1 + random() % (next_id + 2);
      } else {
        auto it = model.begin();
        std::advance(it, random() % model.size());
        id = it->first;
      }
      auto expected = model.count(id) ? model[id] : nullptr;
      model.erase(id);
      ASSERT_EQ(table.Take(id), expected) << "step " << step;
    } else {
      const uint32_t id = 1 + random() % (next_id + 2);
      auto it = model.find(id);
      const std::shared_ptr<int>* found = table.Find(id);
      if (it == model.end()) {
        ASSERT_EQ(found, nullptr) << "step " << step;
      } else {
        ASSERT_NE(found, nullptr) << "step " << step;
        ASSERT_EQ(*found, it->second);
      }
    }
    ASSERT_EQ(table.size(), model.size());
    ASSERT_LE(table.slots(), 2 * table.size() + 40);
    if (step % 1000 == 0) {
      std::vector<uint32_t> ids;
      for (const auto& [id, value] : model) ids.push_back(id);
      ASSERT_EQ(Ids(table), ids);
    }
  }
  table.Clear();
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(Ids(table), std::vector<uint32_t>{});
}

}  // namespace
}  // namespace sockrpc
