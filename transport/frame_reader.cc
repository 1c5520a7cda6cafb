#include "transport/frame_reader.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sockrpc {

FrameReader::~FrameReader() {
  if (pool_ != nullptr) pool_->Give(std::move(buffer_));
}

void FrameReader::MoveToOwnBuffer(size_t capacity) {
  if (scratch_ != nullptr && buffer_.size() >= capacity) {
    // The unread bytes are in scratch; the own buffer is free and will do.
    std::memcpy(&buffer_[0], scratch_ + begin_, buffered());
  } else {
    std::string fresh;
    if (pool_ != nullptr) {
      // Pooled memory is in use already: room for the whole pending frame
      // costs nothing more, and saves growing step by step.
      const size_t whole = std::max(capacity, pending_frame_size_);
      if (whole >= BufferPool::kMinPooledCapacity) {
        fresh = pool_->TakeAtLeast(whole);
      }
      if (fresh.capacity() < capacity &&
          capacity >= BufferPool::kMinPooledCapacity) {
        fresh = pool_->TakeAtLeast(capacity);
      }
    }
    // A pooled buffer keeps its old size(): it grows without zero-filling
    // what it already has.
    if (fresh.size() < capacity) {
      fresh.resize(std::max(capacity, fresh.capacity()));
    }
    if (buffered() > 0) std::memcpy(&fresh[0], data() + begin_, buffered());
    std::swap(buffer_, fresh);
    if (pool_ != nullptr) pool_->Give(std::move(fresh));
  }
  end_ = buffered();
  begin_ = 0;
  scratch_ = nullptr;
}

size_t FrameReader::ReadSizeWanted(size_t min_size) const {
  if (pending_frame_size_ <= buffered()) return min_size;
  // Room for the rest of a partly received frame, but no more than what
  // has arrived of it: the room doubles as its bytes come, so a peer that
  // announces a large frame and sends little of it costs little memory.
  return std::max(min_size,
                  std::min(pending_frame_size_ - buffered(), buffered()));
}

absl::Span<char> FrameReader::PrepareRead(size_t min_size) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    scratch_ = nullptr;
  }
  const size_t want = ReadSizeWanted(min_size);
  if (scratch_ != nullptr) {
    MoveToOwnBuffer(buffered() + want);
  } else if (buffer_.size() - end_ < want) {
    if (buffer_.size() - buffered() >= want) {
      // Room enough once the unread bytes move to the front.
      std::memmove(&buffer_[0], buffer_.data() + begin_, buffered());
      end_ -= begin_;
      begin_ = 0;
    } else {
      MoveToOwnBuffer(buffered() + want);
    }
  }
  return absl::Span<char>(&buffer_[0] + end_, buffer_.size() - end_);
}

absl::Span<char> FrameReader::PrepareRead(absl::Span<char> scratch) {
  if (begin_ != end_ || scratch.empty()) return PrepareRead();
  begin_ = end_ = 0;
  scratch_ = scratch.data();
  scratch_size_ = scratch.size();
  return scratch;
}

bool FrameReader::TakePreface(absl::string_view* preface) {
  if (buffered() < kPrefaceSize) return false;
  *preface = absl::string_view(data() + begin_, kPrefaceSize);
  begin_ += kPrefaceSize;
  return true;
}

size_t FrameReader::DetachPayload(const Frame& frame, std::string* holder) {
  if (frame.payload.size() < BufferPool::kMinPooledCapacity ||
      scratch_ != nullptr) {
    holder->assign(frame.payload.data(), frame.payload.size());
    return 0;
  }
  // The payload stays where it is; the buffer changes hands.
  const size_t offset =
      static_cast<size_t>(frame.payload.data() - buffer_.data());
  std::string old = std::move(buffer_);
  buffer_.clear();
  if (pool_ != nullptr) pool_->Give(std::move(*holder));
  *holder = std::move(old);
  // The bytes after the frame, if any, go on in a buffer of their own.
  std::string rest;
  if (buffered() > 0) {
    if (pool_ != nullptr) rest = pool_->TakeAtLeast(buffered());
    if (rest.size() < buffered())
      rest.resize(std::max(buffered(), rest.capacity()));
    std::memcpy(&rest[0], holder->data() + begin_, buffered());
  }
  buffer_ = std::move(rest);
  end_ = buffered();
  begin_ = 0;
  return offset;
}

void FrameReader::EndReads() {
  if (begin_ != end_) {
    // Keep the unread bytes, in a buffer of our own with room for the
    // next read.
    if (scratch_ != nullptr) {
      MoveToOwnBuffer(buffered() + ReadSizeWanted(kDefaultReadSize));
    }
    return;
  }
  begin_ = end_ = 0;
  scratch_ = nullptr;
  if (skip_remaining_ > 0) return;
  // Give back our buffer, if we hold one (most reads never need it).
  if (buffer_.capacity() < BufferPool::kMinSlotCapacity) return;
  if (pool_ != nullptr) {
    pool_->Give(std::move(buffer_));
  }
  std::string().swap(buffer_);
}

}  // namespace sockrpc
