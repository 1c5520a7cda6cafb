// MessageQueue: the encoded messages of one stream that arrived and have
// not been read yet, oldest first, each with the file descriptors that
// came with it (docs/PROTOCOL.md section 16; usually none).
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
#include <vector>

#include "absl/strings/string_view.h"
#include "transport/fd.h"

namespace sockrpc {

class MessageQueue {
 public:
  bool empty() const { return !has_oldest_; }

  // Adds a message, with the descriptors that came with it (if any).
  void Push(absl::string_view message, std::vector<Fd> fds = {}) {
    fds_ += fds.size();
    if (!has_oldest_) {
      oldest_.assign(message.data(), message.size());
      oldest_fds_ = std::move(fds);
      has_oldest_ = true;
      return;
    }
    if (newer_ == nullptr) newer_ = std::make_unique<std::deque<Entry>>();
    newer_->push_back(Entry{std::string(message), std::move(fds)});
  }

  // Removes and returns the oldest message; its descriptors go to `*fds`
  // (if given; else they are closed). Requires !empty().
  std::string Pop(std::vector<Fd>* fds = nullptr) {
    std::string message = std::move(oldest_);
    oldest_.clear();
    fds_ -= oldest_fds_.size();
    if (fds != nullptr) *fds = std::move(oldest_fds_);
    oldest_fds_.clear();
    has_oldest_ = newer_ != nullptr && !newer_->empty();
    if (has_oldest_) {
      oldest_ = std::move(newer_->front().bytes);
      oldest_fds_ = std::move(newer_->front().fds);
      newer_->pop_front();
    }
    return message;
  }

  // Descriptors held by the messages queued.
  size_t fds() const { return fds_; }

  // Drops every message (closing their descriptors) and frees the memory.
  void Clear() {
    std::string().swap(oldest_);
    oldest_fds_.clear();
    has_oldest_ = false;
    newer_.reset();
    fds_ = 0;
  }

 private:
  struct Entry {
    std::string bytes;
    std::vector<Fd> fds;
  };
  // Invariant: newer_ holds messages only while has_oldest_.
  std::string oldest_;
  std::vector<Fd> oldest_fds_;
  bool has_oldest_ = false;
  std::unique_ptr<std::deque<Entry>> newer_;  // made on the 2nd Push()
  size_t fds_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_MESSAGE_QUEUE_H_
