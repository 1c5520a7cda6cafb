// MessageQueue: the encoded messages of one stream that arrived and have
// not been read yet, oldest first.
//
// Most streams hold at most one message at a time (a unary reply read
// through a UnaryFuture, a request the handler reads at once), so the
// oldest message is kept inline and a std::deque for the others is made
// only when a second one waits (an empty std::deque alone costs two
// allocations). Clear() gives the memory back.
//
// Not thread-safe: guarded by the owner's lock.
#ifndef SOCKRPC_TRANSPORT_MESSAGE_QUEUE_H_
#define SOCKRPC_TRANSPORT_MESSAGE_QUEUE_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace sockrpc {

class MessageQueue {
 public:
  bool empty() const { return !has_oldest_; }

  void Push(absl::string_view message) {
    if (!has_oldest_) {
      oldest_.assign(message.data(), message.size());
      has_oldest_ = true;
      return;
    }
    if (newer_ == nullptr) newer_ = std::make_unique<std::deque<std::string>>();
    newer_->emplace_back(message);
  }

  // Removes and returns the oldest message. Requires !empty().
  std::string Pop() {
    std::string message = std::move(oldest_);
    oldest_.clear();
    has_oldest_ = newer_ != nullptr && !newer_->empty();
    if (has_oldest_) {
      oldest_ = std::move(newer_->front());
      newer_->pop_front();
    }
    return message;
  }

  void Clear() {
    std::string().swap(oldest_);
    has_oldest_ = false;
    newer_.reset();
  }

 private:
  // Invariant: newer_ holds messages only while has_oldest_.
  std::string oldest_;
  bool has_oldest_ = false;
  std::unique_ptr<std::deque<std::string>> newer_;  // made on the 2nd Push()
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_MESSAGE_QUEUE_H_
