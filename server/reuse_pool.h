// ReusePool: a few objects of one type kept for reuse instead of being
// destroyed and made again.
//
// The server keeps each unary method's request and reply messages in one:
// protobuf's Clear() keeps what a message allocated (its strings and
// repeated fields), so a warm pair parses and builds a small call with no
// allocation at all. The caller decides what is worth keeping and puts it
// back cleared; the pool keeps at most `max_kept` objects, so it holds
// about as many as were in use at once, never more.
//
// Thread-safe. The newest kept object waits in a lock-free slot, so that
// one caller at a time (the common case) takes and gives without a lock;
// the others wait in a list under a mutex.
//
// Internal: a detail of MethodHandler (server/method_handler.h); not
// installed.
#ifndef SOCKRPC_SERVER_REUSE_POOL_H_
#define SOCKRPC_SERVER_REUSE_POOL_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace sockrpc {

template <typename T>
class ReusePool {
 public:
  explicit ReusePool(size_t max_kept) : max_kept_(max_kept) {}
  ~ReusePool() { delete slot_.load(std::memory_order_acquire); }
  ReusePool(const ReusePool&) = delete;
  ReusePool& operator=(const ReusePool&) = delete;

  // A kept object if there is one (in the state Give() left it in), else
  // a new, value-initialized one.
  std::unique_ptr<T> Take() {
    if (T* slotted = slot_.exchange(nullptr, std::memory_order_acquire)) {
      return std::unique_ptr<T>(slotted);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!kept_.empty()) {
        std::unique_ptr<T> object = std::move(kept_.back());
        kept_.pop_back();
        return object;
      }
    }
    return std::make_unique<T>();
  }

  // Keeps `object` for a later Take(), or destroys it if max_kept objects
  // are kept already.
  void Give(std::unique_ptr<T> object) {
    if (max_kept_ == 0) return;
    // The newest waits in the slot; the one it displaces joins the list.
    object.reset(slot_.exchange(object.release(), std::memory_order_acq_rel));
    if (object == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The slot counts as one of the max_kept.
      if (kept_.size() + 1 < max_kept_) {
        kept_.push_back(std::move(object));
        return;
      }
    }
    // `object` is destroyed here, outside the lock.
  }

 private:
  const size_t max_kept_;
  std::atomic<T*> slot_{nullptr};  // owns what it points to
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> kept_;  // guarded by mu_
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_REUSE_POOL_H_
