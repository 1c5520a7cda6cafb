// FrameReader cuts the bytes of one connection into frames.
//
// The owner reads socket bytes straight into PrepareRead()'s space,
// CommitRead()s them, then calls Next() until it returns kNeedMore. A frame
// whose header claims more than `max_frame_size` payload bytes is never
// buffered: Next() reports it once (kOversized) and its payload is then
// discarded as it arrives, so the stream stays in sync.
//
//   storage:  [ consumed | unread bytes ......... | free space ]
//             0          begin_                    end_         capacity
//
// The storage is either the reader's own buffer_ or, between
// PrepareRead(scratch) and the next PrepareRead() or EndReads(), scratch
// space of the caller's (typically on its stack). With scratch, a
// connection whose reads hold whole frames needs no buffer of its own at
// all: only the bytes of a frame cut in two by a read are kept, in the own
// buffer, which is allocated then and freed (or given back to the owner's
// BufferPool, if large) by EndReads() once empty. An idle connection holds
// no buffer.
//
// Not thread-safe: one reader at a time (the owner's lock).
#ifndef SOCKRPC_TRANSPORT_FRAME_READER_H_
#define SOCKRPC_TRANSPORT_FRAME_READER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "transport/buffer_pool.h"
#include "transport/frame.h"

namespace sockrpc {

class FrameReader {
 public:
  // `pool`, if not null, must outlive the reader: large buffers are taken
  // from it and given back to it.
  explicit FrameReader(uint32_t max_frame_size, BufferPool* pool = nullptr)
      : max_frame_size_(max_frame_size), pool_(pool) {}
  ~FrameReader();

  FrameReader(FrameReader&&) = default;

  // A frame: its header and a view of its payload, valid until the next
  // call of PrepareRead(), Next() or TakePreface().
  struct Frame {
    FrameHeader header;
    absl::string_view payload;
  };

  enum class Result {
    kFrame,      // *frame holds a complete frame
    kNeedMore,   // no complete frame buffered; read more
    kOversized,  // frame->header holds a header over the limit; its payload
                 // is being skipped (frame->payload is empty)
    kMalformed,  // *error says why; the byte stream cannot be trusted
  };

  // Returns writable space for the next read, in the reader's own buffer:
  // at least `min_size` bytes, more if a partly received frame needs it,
  // but never more than has arrived of that frame (the buffer doubles as
  // a large frame comes in; an announced length alone reserves nothing).
  absl::Span<char> PrepareRead(size_t min_size = kDefaultReadSize);
  // Like PrepareRead(), but returns `scratch` itself when no bytes are
  // buffered (the usual case between calls), so that the read costs no
  // allocation. Call EndReads() before `scratch` is used for anything else
  // or goes away.
  absl::Span<char> PrepareRead(absl::Span<char> scratch);
  static constexpr size_t kDefaultReadSize = 16 * 1024;
  // Records that `n` bytes were written into PrepareRead()'s space.
  void CommitRead(size_t n);

  // Takes the connection preface (the first kPrefaceSize bytes). Returns
  // false if they have not all arrived yet.
  bool TakePreface(absl::string_view* preface);

  // Returns the next complete frame, if any (see Result).
  Result Next(Frame* frame, absl::Status* error);

  // Takes the next frame, as Next() would, if it is whole, well-formed, of
  // `type` on `stream_id` and has no payload (a plain OK STATUS after a
  // reply, most often); otherwise takes nothing and returns false.
  bool TakeEmptyFrame(uint8_t type, uint32_t stream_id);
  // The same for a frame with a payload within the limit (a request right
  // behind its HEADERS): fills `*frame` as Next() does.
  bool TakeFrameIf(uint8_t type, uint32_t stream_id, Frame* frame);

  // Moves the payload of `frame`, the frame Next() returned last, into
  // `*holder`, and returns its offset there (its size is unchanged). A
  // large payload is not copied: the whole buffer moves to `*holder` (give
  // it back to the pool when done) and the reader goes on in another one.
  size_t DetachPayload(const Frame& frame, std::string* holder);

  // Bytes received but not yet returned in a frame.
  size_t buffered() const { return end_ - begin_; }
  // Whether the reader holds a buffer of its own (memory of its own).
  bool holds_buffer() const { return !buffer_.empty(); }

  // Ends a run of reads, before the owner waits for the socket again:
  // unread bytes in the caller's scratch space move into the own buffer,
  // and an own buffer with no unread bytes is freed, or given back to the
  // pool (keeps idle connections small).
  void EndReads();

 private:
  // TakeEmptyFrame() and TakeFrameIf(): the next frame if it is whole,
  // well-formed, of `type` on `stream_id` and at most `max_length` long.
  bool TakeWholeFrame(uint8_t type, uint32_t stream_id, uint32_t max_length,
                      Frame* frame);
  // Where the storage starts: the caller's scratch or buffer_.
  char* data() { return scratch_ != nullptr ? scratch_ : &buffer_[0]; }
  size_t capacity() const {
    return scratch_ != nullptr ? scratch_size_ : buffer_.size();
  }
  // Makes buffer_ the storage, at least `capacity` bytes, holding the
  // unread bytes at its start.
  void MoveToOwnBuffer(size_t capacity);
  // Space the next read needs: `min_size`, or more towards completing the
  // partly received frame (at most as much as is buffered).
  size_t ReadSizeWanted(size_t min_size) const;

  const uint32_t max_frame_size_;
  BufferPool* const pool_;
  // Raw storage: size() is the usable capacity (never shrunk while in use,
  // so growing it again does not zero-fill).
  std::string buffer_;
  // The caller's scratch space while it is the storage, else null.
  char* scratch_ = nullptr;
  size_t scratch_size_ = 0;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last received byte
  // Payload bytes of an oversized frame still to discard.
  uint64_t skip_remaining_ = 0;
  // Size (header + payload) of the partly received frame at begin_, or 0.
  size_t pending_frame_size_ = 0;
};

// CommitRead() runs for every read: inline.
inline void FrameReader::CommitRead(size_t n) {
  end_ += n;
  if (skip_remaining_ > 0) {
    size_t skipped =
        static_cast<size_t>(std::min<uint64_t>(skip_remaining_, buffered()));
    begin_ += skipped;
    skip_remaining_ -= skipped;
  }
}

// Next() runs for every frame on both sides: inline.
inline FrameReader::Result FrameReader::Next(Frame* frame,
                                             absl::Status* error) {
  if (skip_remaining_ > 0 || buffered() < kFrameHeaderSize) {
    return Result::kNeedMore;
  }
  FrameHeader* const header = &frame->header;
  if (!DecodeWellFormedFrameHeader(data() + begin_, header)) {
    *error = DecodeFrameHeader(data() + begin_).status();
    return Result::kMalformed;
  }
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
  frame->payload =
      absl::string_view(data() + begin_ + kFrameHeaderSize, header->length);
  begin_ += frame_size;
  return Result::kFrame;
}

inline bool FrameReader::TakeWholeFrame(uint8_t type, uint32_t stream_id,
                                        uint32_t max_length, Frame* frame) {
  FrameHeader* const header = &frame->header;
  if (skip_remaining_ > 0 || buffered() < kFrameHeaderSize ||
      !DecodeWellFormedFrameHeader(data() + begin_, header) ||
      header->type != type || header->stream_id != stream_id ||
      header->length > max_length ||
      buffered() < kFrameHeaderSize + header->length) {
    return false;
  }
  pending_frame_size_ = 0;
  frame->payload =
      absl::string_view(data() + begin_ + kFrameHeaderSize, header->length);
  begin_ += kFrameHeaderSize + header->length;
  return true;
}

inline bool FrameReader::TakeEmptyFrame(uint8_t type, uint32_t stream_id) {
  Frame frame;
  return TakeWholeFrame(type, stream_id, /*max_length=*/0, &frame);
}

inline bool FrameReader::TakeFrameIf(uint8_t type, uint32_t stream_id,
                                     Frame* frame) {
  return TakeWholeFrame(type, stream_id, max_frame_size_, frame);
}

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FRAME_READER_H_
