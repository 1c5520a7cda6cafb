// FrameReader cuts the bytes of one connection into frames.
//
// The owner reads socket bytes straight into PrepareRead()'s space,
// CommitRead()s them, then calls Next() until it returns kNeedMore. A frame
// whose header claims more than `max_frame_size` payload bytes is never
// buffered: Next() reports it once (kOversized) and its payload is then
// discarded as it arrives, so the stream stays in sync.
//
//   buffer_:  [ consumed | unread bytes ......... | free space ]
//             0          begin_                    end_         size()
//
// The buffer is allocated on the first read and freed (or given back to
// the owner's BufferPool, if large) by ReleaseIfEmpty(), so that an idle
// connection holds no buffer at all.
//
// Not thread-safe: one reader at a time (the owner's lock).
#ifndef SOCKRPC_TRANSPORT_FRAME_READER_H_
#define SOCKRPC_TRANSPORT_FRAME_READER_H_

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

  // Returns writable space for the next read: at least `min_size` bytes,
  // more if a partly received frame needs it.
  absl::Span<char> PrepareRead(size_t min_size = 16 * 1024);
  // Records that `n` bytes were written into PrepareRead()'s space.
  void CommitRead(size_t n);

  // Takes the connection preface (the first kPrefaceSize bytes). Returns
  // false if they have not all arrived yet.
  bool TakePreface(absl::string_view* preface);

  // Returns the next complete frame, if any (see Result).
  Result Next(Frame* frame, absl::Status* error);

  // Moves the payload of `frame`, the frame Next() returned last, into
  // `*holder`, and returns its offset there (its size is unchanged). A
  // large payload is not copied: the whole buffer moves to `*holder` (give
  // it back to the pool when done) and the reader goes on in another one.
  size_t DetachPayload(const Frame& frame, std::string* holder);

  // Bytes received but not yet returned in a frame.
  size_t buffered() const { return end_ - begin_; }

  // Frees the buffer, or gives it back to the pool, if it holds no
  // unread bytes (keeps idle connections small).
  void ReleaseIfEmpty();

 private:
  // Replaces buffer_ by one of at least `capacity` bytes holding the unread
  // bytes at its start.
  void MoveToNewBuffer(size_t capacity);

  const uint32_t max_frame_size_;
  BufferPool* const pool_;
  // Raw storage: size() is the usable capacity (never shrunk while in use,
  // so growing it again does not zero-fill).
  std::string buffer_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last received byte
  // Payload bytes of an oversized frame still to discard.
  uint64_t skip_remaining_ = 0;
  // Size (header + payload) of the partly received frame at begin_, or 0.
  size_t pending_frame_size_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FRAME_READER_H_
