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
// Thread-safe.
//
// Internal: a detail of MethodHandler (server/method_handler.h); not
// installed.
#ifndef SOCKRPC_SERVER_REUSE_POOL_H_
#define SOCKRPC_SERVER_REUSE_POOL_H_

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
  ReusePool(const ReusePool&) = delete;
  ReusePool& operator=(const ReusePool&) = delete;

  // A kept object if there is one (in the state Give() left it in), else
  // a new, value-initialized one.
  std::unique_ptr<T> Take() {
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (kept_.size() < max_kept_) {
        kept_.push_back(std::move(object));
        return;
      }
    }
    // `object` is destroyed here, outside the lock.
  }

 private:
  const size_t max_kept_;
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> kept_;  // guarded by mu_
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_REUSE_POOL_H_
