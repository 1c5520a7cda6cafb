// IncomingFrames: the reading half of a client connection: one read of the
// socket at a time, then the frames it completed, the server's preface
// checked first. Internal to the client.
//
// Whoever holds the connection's reader role (client/client_connection.h)
// uses it: ReadOnce() into scratch space of its own (typically on its
// stack), then Next() until kNeedMore, and EndReads() before the scratch
// space goes away (see FrameReader). Errors come back as statuses that
// name the server, ready to fail the connection with.
//
// Not thread-safe: one reader at a time (the reader role).
#ifndef SOCKRPC_CLIENT_INCOMING_FRAMES_H_
#define SOCKRPC_CLIENT_INCOMING_FRAMES_H_

#include <cstdint>
#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "transport/buffer_pool.h"
#include "transport/frame_reader.h"

namespace sockrpc {

class IncomingFrames {
 public:
  // `fd`: the connection's socket, borrowed; `target` names the server in
  // errors; `buffers`, if not null, must outlive this (see FrameReader).
  IncomingFrames(int fd, std::string target, uint32_t max_frame_size,
                 BufferPool* buffers);

  IncomingFrames(const IncomingFrames&) = delete;
  IncomingFrames& operator=(const IncomingFrames&) = delete;

  // What one read did: filled the space it had (more may be waiting),
  // read less, found nothing to read, or failed.
  enum class ReadResult { kFull, kShort, kDrained, kFailed };
  // Reads once, without blocking, into `scratch` or, while a frame is
  // partly read, the reader's own buffer. kFailed, with an UNAVAILABLE
  // `*error`, if the socket failed or the server closed the connection.
  ReadResult ReadOnce(absl::Span<char> scratch, absl::Status* error);

  // The next frame of what was read (FrameReader::Next()). First the
  // server's preface must arrive and be valid: if it is not, kMalformed
  // with an UNAVAILABLE error saying the peer is no sockrpc server; other
  // malformed input is an INTERNAL protocol error. Inline: it runs for
  // every frame.
  FrameReader::Result Next(FrameReader::Frame* frame, absl::Status* error) {
    if (ABSL_PREDICT_FALSE(!preface_received_)) {
      if (!TakePreface(error)) return PrefaceOutcome(*error);
    }
    const FrameReader::Result result = reader_.Next(frame, error);
    if (ABSL_PREDICT_FALSE(result == FrameReader::Result::kMalformed)) {
      NameProtocolError(error);
    }
    return result;
  }

  // True once the server's preface has arrived and was valid.
  bool preface_received() const { return preface_received_; }

  // Ends a series of reads into scratch space (FrameReader::EndReads()).
  void EndReads() { reader_.EndReads(); }

 private:
  // Takes and checks the server's preface: false if it has not all
  // arrived (`*error` OK) or is not valid (`*error` says why).
  bool TakePreface(absl::Status* error);
  static FrameReader::Result PrefaceOutcome(const absl::Status& error) {
    return error.ok() ? FrameReader::Result::kNeedMore
                      : FrameReader::Result::kMalformed;
  }
  void NameProtocolError(absl::Status* error) const;

  const int fd_;
  const std::string target_;
  FrameReader reader_;
  bool preface_received_ = false;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_INCOMING_FRAMES_H_
