// MessageQueue: the encoded messages of one stream that arrived and have
// not been read yet, oldest first.
//
// Most calls are unary and never queue a message, so the queue takes no
// memory until the first Push() (an empty std::deque alone costs two
// allocations) and gives it back on Clear().
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
  bool empty() const { return messages_ == nullptr || messages_->empty(); }

  void Push(absl::string_view message) {
    if (messages_ == nullptr) {
      messages_ = std::make_unique<std::deque<std::string>>();
    }
    messages_->emplace_back(message);
  }

  // Removes and returns the oldest message. Requires !empty().
  std::string Pop() {
    std::string message = std::move(messages_->front());
    messages_->pop_front();
    return message;
  }

  void Clear() { messages_.reset(); }

 private:
  std::unique_ptr<std::deque<std::string>> messages_;  // null until a Push()
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_MESSAGE_QUEUE_H_
