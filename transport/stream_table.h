// StreamTable: a connection's calls in flight by stream id, for ids that
// are added in increasing order, as both ends of a connection open them
// (the client numbers its calls upwards; the server refuses a HEADERS whose
// id is not above the last one).
//
// Increasing ids make a sorted vector the table: adding is an append,
// finding is a binary search (one comparison for the lone call of a
// blocking caller), and a removed entry at either end shrinks the vector at
// once. An entry removed from the middle (a short call that ends while an
// older one still runs) leaves a hole, cleared when the holes outnumber the
// live entries, so the vector stays within about twice the calls in flight.
// Against a hash map, no hashing and no probing on every HEADERS, frame and
// end of a call.
//
// `Value` is a pointer-like type (std::shared_ptr) whose empty value means
// "no entry": it is what Find() and Take() give for an unknown id, and an
// empty Value may not be added.
//
// Not thread-safe: the owner's lock guards it.
#ifndef SOCKRPC_TRANSPORT_STREAM_TABLE_H_
#define SOCKRPC_TRANSPORT_STREAM_TABLE_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sockrpc {

template <typename Value>
class StreamTable {
 public:
  // Adds `value` under `id`, which must be above every id added before
  // (the callers check the wire's ids before they get here).
  void Add(uint32_t id, Value value) {
    assert(value);
    assert(entries_.empty() || entries_.back().id < id);
    entries_.push_back(Entry{id, std::move(value)});
    ++live_;
  }

  // The value under `id`, or nullptr if there is none. The pointer is
  // valid until the table next changes (Add() may move the entries, Take()
  // may compact them).
  const Value* Find(uint32_t id) const {
    const Entry* entry = Locate(id);
    return entry != nullptr ? &entry->value : nullptr;
  }

  // Removes the entry under `id` and returns its value; an empty Value if
  // there was none.
  Value Take(uint32_t id) {
    Entry* entry = const_cast<Entry*>(Locate(id));
    if (entry == nullptr) return Value();
    Value value = std::move(entry->value);
    entry->value = Value();
    --live_;
    Shrink();
    return value;
  }

  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // Entries kept, holes included (at most about twice size() plus a few).
  size_t slots() const { return entries_.size() - head_; }

  // Calls f(id, value) for every entry, in increasing id order. `f` must
  // not change the table.
  template <typename F>
  void ForEach(F f) const {
    for (size_t i = head_; i < entries_.size(); ++i) {
      if (entries_[i].value) f(entries_[i].id, entries_[i].value);
    }
  }

  void Clear() {
    entries_.clear();
    head_ = 0;
    live_ = 0;
  }

 private:
  struct Entry {
    uint32_t id;
    Value value;  // empty once removed (a hole)
  };

  // Holes below this many are left until an end of the vector reaches them.
  static constexpr size_t kHolesKept = 16;

  const Entry* Locate(uint32_t id) const {
    // The newest call is the likeliest (a lone caller's only one).
    if (entries_.empty()) return nullptr;
    const Entry& last = entries_.back();
    if (last.id == id) return last.value ? &last : nullptr;
    if (id > last.id) return nullptr;
    auto it = std::lower_bound(
        entries_.begin() + static_cast<std::ptrdiff_t>(head_), entries_.end(),
        id, [](const Entry& entry, uint32_t key) { return entry.id < key; });
    if (it == entries_.end() || it->id != id || !it->value) return nullptr;
    return &*it;
  }

  void Shrink() {
    while (!entries_.empty() && !entries_.back().value) entries_.pop_back();
    if (live_ == 0) {
      entries_.clear();
      head_ = 0;
      return;
    }
    while (!entries_[head_].value) ++head_;
    const size_t holes = entries_.size() - head_ - live_;
    if (head_ > kHolesKept && head_ >= live_) {
      // The dead front is as long as what lives: drop it.
      entries_.erase(entries_.begin(),
                     entries_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    if (holes > kHolesKept && holes > live_) {
      entries_.erase(
          std::remove_if(entries_.begin() + static_cast<std::ptrdiff_t>(head_),
                         entries_.end(),
                         [](const Entry& entry) { return !entry.value; }),
          entries_.end());
    }
  }

  std::vector<Entry> entries_;  // ids increasing; holes have empty values
  size_t head_ = 0;             // entries_[0, head_) are all holes
  size_t live_ = 0;             // entries with a value
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_STREAM_TABLE_H_
