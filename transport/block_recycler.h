// BlockRecycler keeps freed memory blocks of one size for the next
// allocation of that size, so that an object made and destroyed once per
// call (a call's state, allocated with its shared_ptr control block by
// std::allocate_shared) costs no malloc() or free() once warm.
//
// RecyclingAllocator<T> is the standard allocator that draws on one (not
// owned: the recycler must outlive every block it hands out; the server
// runtime keeps one for its calls, which never outlive it):
//
//   auto call = std::allocate_shared<ServerCallState>(
//       RecyclingAllocator<ServerCallState>(&recycler), ...);
//
// The block size is the first one asked for; blocks of other sizes come
// from operator new and go back to it. At most `max_kept` blocks are kept;
// the newest waits in a lock-free slot (one caller at a time, the common
// case, takes no lock), the others in a list under a mutex.
//
// Under AddressSanitizer kept blocks are poisoned, so a stale pointer into
// a recycled call still reports.
//
// Thread-safe.
#ifndef SOCKRPC_TRANSPORT_BLOCK_RECYCLER_H_
#define SOCKRPC_TRANSPORT_BLOCK_RECYCLER_H_

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "transport/sync.h"

namespace sockrpc {

class BlockRecycler {
 public:
  explicit BlockRecycler(size_t max_kept) : max_kept_(max_kept) {}
  // Frees the kept blocks.
  ~BlockRecycler();
  BlockRecycler(const BlockRecycler&) = delete;
  BlockRecycler& operator=(const BlockRecycler&) = delete;

  // A block of `size` bytes, aligned as operator new aligns.
  void* Allocate(size_t size);
  // Takes back a block Allocate(size) returned.
  void Deallocate(void* block, size_t size);

 private:
  // The size blocks are kept for: 0 until the first Allocate() sets it.
  bool IsBlockSize(size_t size);

  const size_t max_kept_;
  std::atomic<size_t> block_size_{0};
  std::atomic<void*> slot_{nullptr};
  Mutex mu_;
  std::vector<void*> kept_ ABSL_GUARDED_BY(mu_);
};

template <typename T>
class RecyclingAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                "BlockRecycler's blocks have operator new's alignment");

  explicit RecyclingAllocator(BlockRecycler* recycler) : recycler_(recycler) {}
  template <typename U>
  RecyclingAllocator(const RecyclingAllocator<U>& other)  // NOLINT: rebinds
      : recycler_(other.recycler()) {}

  T* allocate(size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(recycler_->Allocate(sizeof(T)));
  }
  void deallocate(T* block, size_t n) {
    if (n != 1) {
      ::operator delete(block);
      return;
    }
    recycler_->Deallocate(block, sizeof(T));
  }

  BlockRecycler* recycler() const { return recycler_; }

  template <typename U>
  bool operator==(const RecyclingAllocator<U>& other) const {
    return recycler_ == other.recycler();
  }
  template <typename U>
  bool operator!=(const RecyclingAllocator<U>& other) const {
    return recycler_ != other.recycler();
  }

 private:
  BlockRecycler* recycler_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_BLOCK_RECYCLER_H_
