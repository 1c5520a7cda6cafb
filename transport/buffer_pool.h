// BufferPool keeps a few large byte buffers for reuse, so that a runtime
// moving big messages does not obtain fresh memory for every one.
//
// Why: memory the process has not touched yet costs a page fault per
// 4 KiB on first use, and the allocator hands large blocks back to the
// kernel when they are freed (glibc trims or unmaps blocks of 128 KiB and
// more). On the VMs we measure on a fault costs ~24 us, so a fresh 1 MiB
// buffer costs ~6 ms -- ten times the round trip of 1 MiB over a socket.
// Buffers that go back to a pool stay warm.
//
// The pool is bounded (a number of buffers, each up to a size) and keeps
// only buffers worth keeping (kMinPooledCapacity and up), plus one small
// buffer in a slot that takes no lock: the frames of a small message then
// need no allocation at all once warm (a Take() or Give() that finds the
// slot in use by another thread just goes without). Clear() frees
// everything, for owners that go idle.
//
// A buffer is a std::string used as raw storage: Take() returns it with
// its old size() and contents (so a caller that needs room can resize()
// without zero-filling again); callers that append clear() it first.
//
// Thread-safe.
#ifndef SOCKRPC_TRANSPORT_BUFFER_POOL_H_
#define SOCKRPC_TRANSPORT_BUFFER_POOL_H_

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "transport/sync.h"

namespace sockrpc {

class BufferPool {
 public:
  // Smaller buffers are not kept: the allocator serves them warm anyway.
  static constexpr size_t kMinPooledCapacity = 64 * 1024;
  // Nor, in the small buffer's slot, those with less room than this (an
  // empty string's own).
  static constexpr size_t kMinSlotCapacity = 32;

  // Keeps at most `max_buffers` buffers of at most `max_capacity` bytes.
  BufferPool(size_t max_buffers, size_t max_capacity)
      : max_buffers_(max_buffers), max_capacity_(max_capacity) {}

  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Returns the largest kept buffer, else the small one of the slot (an
  // empty string if none is kept).
  std::string Take();
  // Returns the kept buffer with the smallest capacity of at least
  // `min_capacity`, or else an empty string.
  std::string TakeAtLeast(size_t min_capacity);
  // Keeps `buffer` if it is worth keeping and there is room; else frees it.
  void Give(std::string buffer);
  // Frees every kept buffer.
  void Clear();

  // Bytes held by kept buffers (their capacities; not the small slot's).
  size_t bytes_kept() const;

 private:
  const size_t max_buffers_;
  const size_t max_capacity_;
  mutable Mutex mu_;
  std::vector<std::string> buffers_ ABSL_GUARDED_BY(mu_);
  // buffers_.size(), readable without the lock: a Take() from an empty
  // pool (the usual case for small messages) costs no locking. It may be
  // stale; a Take() that misses a buffer just given returns none.
  std::atomic<size_t> count_{0};
  // The small buffer's slot: whoever sets slot_busy_ (from false) owns
  // slot_ until it clears it again. A try-lock: nobody waits for it.
  std::atomic<bool> slot_busy_{false};
  std::string slot_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_BUFFER_POOL_H_
