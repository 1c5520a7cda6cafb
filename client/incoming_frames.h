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
#include <vector>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "transport/buffer_pool.h"
#include "transport/fd_passing.h"
#include "transport/frame_reader.h"
#include "transport/receive_ring.h"
#include "transport/tls_session.h"

namespace sockrpc {

class IncomingFrames {
 public:
  // `fd`: the connection's socket, borrowed; `target` names the server in
  // errors; `buffers`, if not null, must outlive this (see FrameReader).
  IncomingFrames(int fd, std::string target, uint32_t max_frame_size,
                 BufferPool* buffers, uint32_t max_fds_per_message = 0);

  IncomingFrames(const IncomingFrames&) = delete;
  IncomingFrames& operator=(const IncomingFrames&) = delete;

  // Reads go through `session` (TLS over the socket; borrowed, outlives
  // this). Before the first read.
  void UseTls(TlsSession* session) { tls_ = session; }
  // Whether input waits inside the TLS session, which polling the socket
  // does not report: read before waiting.
  bool HasBufferedInput() const {
    return ABSL_PREDICT_FALSE(tls_ != nullptr) && tls_->HasBufferedInput();
  }

  // What one read did: filled the space it had (more may be waiting),
  // read less, found nothing to read, or failed.
  // (kRingFailed: ReceiveOnce()'s ring itself failed, nothing was read;
  // wait without it from now on.)
  enum class ReadResult { kFull, kShort, kDrained, kFailed, kRingFailed };
  // Reads once, without blocking, into `scratch` or, while a frame is
  // partly read, the reader's own buffer. kFailed, with an UNAVAILABLE
  // `*error`, if the socket failed or the server closed the connection.
  ReadResult ReadOnce(absl::Span<char> scratch, absl::Status* error);
  // As ReadOnce(), but waits first, in the same system call, through
  // `ring` (made for this socket) until bytes come, `deadline` passes or
  // the ring's wake-up descriptor is signalled (`*woken`, bytes or not).
  // kDrained: nothing came. Only for a side that accepts no descriptors.
  ReadResult ReceiveOnce(ReceiveRing& ring, absl::Span<char> scratch,
                         absl::Time deadline, bool* woken, absl::Status* error);

  // The next frame of what was read (FrameReader::Next()). First the
  // server's preface must arrive and be valid: if it is not, kMalformed
  // with an UNAVAILABLE error saying the peer is no sockrpc server; other
  // malformed input is an INTERNAL protocol error. Inline: it runs for
  // every frame.
  FrameReader::Result Next(FrameReader::Frame* frame, absl::Status* error) {
    if (ABSL_PREDICT_FALSE(!preface_received_)) {
      if (!TakePreface(error)) return PrefaceOutcome(*error);
    }
    frame_begin_ = bytes_received_ - reader_.buffered();
    const FrameReader::Result result = reader_.Next(frame, error);
    if (ABSL_PREDICT_FALSE(result == FrameReader::Result::kMalformed)) {
      NameProtocolError(error);
    } else if (ABSL_PREDICT_FALSE(result == FrameReader::Result::kNeedMore &&
                                  !received_fds_.empty())) {
      *error = received_fds_.CheckNoneLeftBefore(frame_begin_);
      if (!error->ok()) {
        NameProtocolError(error);
        return FrameReader::Result::kMalformed;
      }
    }
    return result;
  }

  // FrameReader::TakeEmptyFrame(), once the preface is in and while no
  // descriptors wait for their frames (Next() checks those).
  bool TakeEmptyFrame(FrameType type, uint32_t stream_id) {
    return preface_received_ && received_fds_.empty() &&
           reader_.TakeEmptyFrame(static_cast<uint8_t>(type), stream_id);
  }

  // Bytes read from the socket so far (keepalive: anything that arrives
  // is a sign of life).
  uint64_t bytes_received() const { return bytes_received_; }

  // ---- File descriptors (docs/PROTOCOL.md section 16) ----
  // The most a reply may bring (0: this side accepts none).
  uint32_t max_fds_per_message() const { return max_fds_; }
  // At an FDS frame (the frame Next() returned last): takes its
  // descriptors for the MESSAGE that must come next. A protocol error
  // (INTERNAL, named) if they cannot be.
  absl::Status TakeFds(const FrameReader::Frame& frame);
  // Whether an FDS frame waits for its MESSAGE; false (with `*error`) if
  // `header` should be that MESSAGE and is not.
  bool fds_pending() const { return fds_stream_ != 0; }
  bool FdsFollowedBy(const FrameHeader& header, absl::Status* error);
  // The descriptors of the MESSAGE just returned (none usually).
  std::vector<Fd> TakeMessageFds() {
    fds_stream_ = 0;
    std::vector<Fd> fds = std::move(fds_for_message_);
    fds_for_message_.clear();
    return fds;
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
  // Takes in what a read that did not fail brought into `space`: `got`
  // bytes (0: the server closed; -1: none), with `fds` (null: none).
  ReadResult Commit(ssize_t got, absl::Span<char> space, std::vector<Fd>* fds,
                    absl::Status* error);
  // The UNAVAILABLE error of a failed read (`what` the system's words).
  absl::Status ReadError(absl::string_view what) const;

  const int fd_;
  TlsSession* tls_ = nullptr;
  const std::string target_;
  FrameReader reader_;
  bool preface_received_ = false;
  // Descriptors: this side's limit; bytes received so far and where the
  // frame Next() returned began (they tie descriptors to FDS frames); the
  // descriptors no FDS frame took yet; those of the FDS frame whose
  // MESSAGE comes next (fds_stream_ != 0).
  const uint32_t max_fds_;
  uint64_t bytes_received_ = 0;
  uint64_t frame_begin_ = 0;
  ReceivedFds received_fds_;
  uint32_t fds_stream_ = 0;
  std::vector<Fd> fds_for_message_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_INCOMING_FRAMES_H_
