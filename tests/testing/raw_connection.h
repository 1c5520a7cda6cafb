// RawConnection: a test's hand-made sockrpc peer. It sends whatever bytes
// the test builds (good or deliberately broken) and reads the server's
// replies frame by frame, every read bounded by a deadline. Test-only.
//
// Thread-compatible: one thread uses a RawConnection at a time.
#ifndef SOCKRPC_TESTS_TESTING_RAW_CONNECTION_H_
#define SOCKRPC_TESTS_TESTING_RAW_CONNECTION_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sockrpc/wire.pb.h"
#include "transport/fd.h"
#include "transport/frame.h"
#include "transport/frame_reader.h"

namespace sockrpc {
namespace testing {

// A frame received by a RawConnection, with its own copy of the payload.
struct ReceivedFrame {
  FrameHeader header;
  std::string payload;
};

class RawConnection {
 public:
  // Connects to `target` (any form of transport/address.h).
  static absl::StatusOr<RawConnection> Open(absl::string_view target,
                                            absl::Duration timeout);

  // Wraps a connection the test accepted itself: the test plays the
  // server, and ReadPreface()/ReadFrame() read the client's.
  static RawConnection Adopt(Fd fd) { return RawConnection(std::move(fd)); }

  RawConnection(RawConnection&&) = default;
  RawConnection& operator=(RawConnection&&) = default;

  int fd() const { return fd_.get(); }

  // Sends all of `bytes`, waiting for socket room until `timeout`.
  absl::Status Send(absl::string_view bytes, absl::Duration timeout);

  // Half-closes our side (shutdown SHUT_WR): the server reads EOF, but we
  // can still read what it sends and see it close.
  absl::Status HangUp();

  // Reads the server's 8-byte preface.
  absl::StatusOr<std::string> ReadPreface(absl::Duration timeout);

  // Reads the next frame (after the preface). UNAVAILABLE with "closed" in
  // the message if the server closed the connection first.
  absl::StatusOr<ReceivedFrame> ReadFrame(absl::Duration timeout);

  // True if every byte the peer has sent so far has been returned (by
  // ReadPreface/ReadFrame): none buffered here, none waiting in the
  // socket. Does not wait.
  bool NothingMoreArrived();

  // Waits until the peer has read every byte sent so far (our send queue,
  // SIOCOUTQ, is empty), looking every millisecond; DEADLINE_EXCEEDED at
  // the bound.
  absl::Status WaitUntilPeerReadAll(absl::Duration timeout);

  // WaitForClose reads (and discards) until the server closes the
  // connection: OK when a read returns end of stream or ECONNRESET,
  // DEADLINE_EXCEEDED if it is still open at the bound.
  absl::Status WaitForClose(absl::Duration timeout);

 private:
  explicit RawConnection(Fd fd);
  // Reads once into reader_, waiting until `deadline`. Sets *closed at end
  // of stream or reset.
  absl::Status ReadMore(absl::Time deadline, bool* closed);

  Fd fd_;
  FrameReader reader_;
  bool preface_taken_ = false;
};

// Encodes a call's HEADERS frame carrying `header` on `stream_id`.
std::string HeadersFrame(uint32_t stream_id, const wire::CallHeader& header);
// The same for a CallHeader with just `method` (no deadline, no metadata).
std::string HeadersFrame(uint32_t stream_id, absl::string_view method);

// Encodes an Increment request MESSAGE frame with END_STREAM.
std::string IncrementRequestFrame(uint32_t stream_id,
                                  absl::string_view character);

// Encodes a bare 12-byte frame header, with any field values (including
// ones the protocol forbids); `reserved` goes into bytes 10-11.
std::string RawFrameHeader(uint32_t length, uint32_t stream_id, uint8_t type,
                           uint8_t flags, uint16_t reserved = 0);

// Reads the server's frames on `stream_id` until its STATUS and returns the
// call's outcome; `*reply_character` gets the reply's character, if any.
// Frames of other streams are skipped.
absl::Status ReadCallOutcome(RawConnection* connection, uint32_t stream_id,
                             absl::Duration timeout,
                             std::string* reply_character);

// Reads frames until a GOAWAY (skipping others) and returns it decoded.
absl::StatusOr<wire::GoAway> ReadGoAway(RawConnection* connection,
                                        absl::Duration timeout);

// VmRssKilobytes returns the resident set size of process `pid` from
// /proc/PID/status.
absl::StatusOr<int64_t> VmRssKilobytes(int pid);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_RAW_CONNECTION_H_
