#include "transport/block_recycler.h"

#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define SOCKRPC_POISON_KEPT_BLOCKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOCKRPC_POISON_KEPT_BLOCKS 1
#endif
#endif

#ifdef SOCKRPC_POISON_KEPT_BLOCKS
#include <sanitizer/asan_interface.h>
#define SOCKRPC_POISON(block, size) ASAN_POISON_MEMORY_REGION(block, size)
#define SOCKRPC_UNPOISON(block, size) ASAN_UNPOISON_MEMORY_REGION(block, size)
#else
#define SOCKRPC_POISON(block, size) ((void)(block), (void)(size))
#define SOCKRPC_UNPOISON(block, size) ((void)(block), (void)(size))
#endif

namespace sockrpc {

BlockRecycler::~BlockRecycler() {
  const size_t size = block_size_.load(std::memory_order_relaxed);
  if (void* block = slot_.load(std::memory_order_acquire)) {
    SOCKRPC_UNPOISON(block, size);
    ::operator delete(block);
  }
  MutexLock lock(&mu_);
  for (void* block : kept_) {
    SOCKRPC_UNPOISON(block, size);
    ::operator delete(block);
  }
}

bool BlockRecycler::IsBlockSize(size_t size) {
  size_t expected = block_size_.load(std::memory_order_relaxed);
  if (expected == size) return true;
  return expected == 0 && block_size_.compare_exchange_strong(
                              expected, size, std::memory_order_relaxed);
}

void* BlockRecycler::Allocate(size_t size) {
  if (max_kept_ > 0 && IsBlockSize(size)) {
    void* block = slot_.exchange(nullptr, std::memory_order_acquire);
    if (block == nullptr) {
      MutexLock lock(&mu_);
      if (!kept_.empty()) {
        block = kept_.back();
        kept_.pop_back();
      }
    }
    if (block != nullptr) {
      SOCKRPC_UNPOISON(block, size);
      return block;
    }
  }
  return ::operator new(size);
}

void BlockRecycler::Deallocate(void* block, size_t size) {
  if (max_kept_ == 0 || block_size_.load(std::memory_order_relaxed) != size) {
    ::operator delete(block);
    return;
  }
  SOCKRPC_POISON(block, size);
  // The newest waits in the slot; the one it displaces joins the list.
  block = slot_.exchange(block, std::memory_order_acq_rel);
  if (block == nullptr) return;
  {
    MutexLock lock(&mu_);
    if (kept_.size() + 1 < max_kept_) {
      kept_.push_back(block);
      return;
    }
  }
  SOCKRPC_UNPOISON(block, size);
  ::operator delete(block);
}

}  // namespace sockrpc
