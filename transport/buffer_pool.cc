#include "transport/buffer_pool.h"

#include <utility>

namespace sockrpc {

std::string BufferPool::Take() {
  if (count_.load(std::memory_order_relaxed) == 0) {
    std::string small;
    if (!slot_busy_.exchange(true, std::memory_order_acquire)) {
      small = std::move(slot_);
      slot_.clear();  // moved from: empty in practice, now by contract
      slot_busy_.store(false, std::memory_order_release);
    }
    return small;
  }
  MutexLock lock(&mu_);
  if (buffers_.empty()) return std::string();
  size_t best = 0;
  for (size_t i = 1; i < buffers_.size(); ++i) {
    if (buffers_[i].capacity() > buffers_[best].capacity()) best = i;
  }
  std::string buffer = std::move(buffers_[best]);
  buffers_.erase(buffers_.begin() + static_cast<ptrdiff_t>(best));
  count_.store(buffers_.size(), std::memory_order_relaxed);
  return buffer;
}

std::string BufferPool::TakeAtLeast(size_t min_capacity) {
  if (count_.load(std::memory_order_relaxed) == 0) return std::string();
  MutexLock lock(&mu_);
  size_t best = buffers_.size();
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (buffers_[i].capacity() < min_capacity) continue;
    if (best == buffers_.size() ||
        buffers_[i].capacity() < buffers_[best].capacity()) {
      best = i;
    }
  }
  if (best == buffers_.size()) return std::string();
  std::string buffer = std::move(buffers_[best]);
  buffers_.erase(buffers_.begin() + static_cast<ptrdiff_t>(best));
  count_.store(buffers_.size(), std::memory_order_relaxed);
  return buffer;
}

void BufferPool::Give(std::string buffer) {
  const size_t capacity = buffer.capacity();
  if (capacity < kMinSlotCapacity) return;  // nothing worth keeping
  if (capacity < kMinPooledCapacity) {
    // The slot keeps the larger of the two (the other is freed).
    if (!slot_busy_.exchange(true, std::memory_order_acquire)) {
      if (capacity > slot_.capacity()) slot_ = std::move(buffer);
      slot_busy_.store(false, std::memory_order_release);
    }
    return;
  }
  if (capacity > max_capacity_) return;
  MutexLock lock(&mu_);
  if (buffers_.size() < max_buffers_) {
    buffers_.push_back(std::move(buffer));
    count_.store(buffers_.size(), std::memory_order_relaxed);
    return;
  }
  // Full: keep the larger of the new buffer and the smallest kept one.
  size_t smallest = 0;
  for (size_t i = 1; i < buffers_.size(); ++i) {
    if (buffers_[i].capacity() < buffers_[smallest].capacity()) smallest = i;
  }
  if (!buffers_.empty() && buffers_[smallest].capacity() < capacity) {
    buffers_[smallest] = std::move(buffer);
  }
}

void BufferPool::Clear() {
  std::string small;
  if (!slot_busy_.exchange(true, std::memory_order_acquire)) {
    small.swap(slot_);
    slot_busy_.store(false, std::memory_order_release);
  }
  std::vector<std::string> freed;
  {
    MutexLock lock(&mu_);
    freed.swap(buffers_);
    count_.store(0, std::memory_order_relaxed);
  }
}

size_t BufferPool::bytes_kept() const {
  MutexLock lock(&mu_);
  size_t bytes = 0;
  for (const std::string& buffer : buffers_) bytes += buffer.capacity();
  return bytes;
}

}  // namespace sockrpc
