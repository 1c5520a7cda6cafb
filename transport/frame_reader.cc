#include "transport/frame_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace {

// Buffers larger than this are freed when a connection goes idle.
constexpr size_t kIdleBufferLimit = 64 * 1024;

}  // namespace

absl::Span<char> FrameReader::PrepareRead(size_t min_size) {
  if (begin_ == end_) begin_ = end_ = 0;
  size_t want = std::max(min_size, pending_frame_size_ > buffered()
                                       ? pending_frame_size_ - buffered()
                                       : size_t{0});
  if (buffer_.size() - end_ < want) {
    // Move the unread bytes to the front, then grow if still short.
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
  }
  return absl::Span<char>(buffer_.data() + end_, buffer_.size() - end_);
}

void FrameReader::CommitRead(size_t n) {
  end_ += n;
  if (skip_remaining_ > 0) {
    size_t skipped = static_cast<size_t>(
        std::min<uint64_t>(skip_remaining_, buffered()));
    begin_ += skipped;
    skip_remaining_ -= skipped;
  }
}

bool FrameReader::TakePreface(absl::string_view* preface) {
  if (buffered() < kPrefaceSize) return false;
  *preface = absl::string_view(buffer_.data() + begin_, kPrefaceSize);
  begin_ += kPrefaceSize;
  return true;
}

FrameReader::Result FrameReader::Next(Frame* frame, absl::Status* error) {
  if (skip_remaining_ > 0 || buffered() < kFrameHeaderSize) {
    return Result::kNeedMore;
  }
  absl::StatusOr<FrameHeader> header =
      DecodeFrameHeader(buffer_.data() + begin_);
  if (!header.ok()) {
    *error = header.status();
    return Result::kMalformed;
  }
  frame->header = *header;
  if (header->length > max_frame_size_) {
    // Skip the payload as it arrives; never buffer it.
    begin_ += kFrameHeaderSize;
    pending_frame_size_ = 0;
    skip_remaining_ = header->length;
    CommitRead(0);
    frame->payload = absl::string_view();
    return Result::kOversized;
  }
  size_t frame_size = kFrameHeaderSize + header->length;
  if (buffered() < frame_size) {
    pending_frame_size_ = frame_size;
    return Result::kNeedMore;
  }
  pending_frame_size_ = 0;
  frame->payload = absl::string_view(
      buffer_.data() + begin_ + kFrameHeaderSize, header->length);
  begin_ += frame_size;
  return Result::kFrame;
}

void FrameReader::ShrinkIfIdle() {
  if (begin_ == end_ && buffer_.size() > kIdleBufferLimit) {
    std::vector<char>().swap(buffer_);
    begin_ = end_ = 0;
  }
}

}  // namespace sockrpc
