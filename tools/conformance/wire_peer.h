// WirePeer: one raw connection to a sockrpc peer, byte for byte, for the
// conformance checker. Unlike the runtimes it enforces nothing: it sends
// whatever bytes it is given (malformed frames included) and hands back
// whatever frames arrive (a header breaking every rule included), so that
// a check can judge the peer's behaviour. Internal to tools/conformance.
//
// Every read takes a deadline; a peer that sends nothing makes a read fail
// with DEADLINE_EXCEEDED, never hang. Every byte read is kept (received())
// so that a failed check can show them in hex.
//
// Thread-compatible: one check drives one WirePeer.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_WIRE_PEER_H_
#define SOCKRPC_TOOLS_CONFORMANCE_WIRE_PEER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "transport/address.h"
#include "transport/fd.h"

namespace sockrpc {
namespace conformance {

// RawFrame is one frame as it came off the wire, header fields decoded but
// not judged.
struct RawFrame {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  uint16_t reserved = 0;
  std::string payload;  // `length` bytes
  std::string bytes;    // the whole frame: header and payload

  // "MESSAGE stream 1 flags 0x00 length 3" (the type's name or its number).
  std::string Describe() const;
};

// The header fields of `header` (kFrameHeaderSize bytes), not judged; the
// frame's `bytes` hold the header alone.
RawFrame ParseRawHeader(absl::string_view header);

// If `buffer` starts with a whole frame, moves it into `*frame` and
// returns true.
bool CutRawFrame(std::string* buffer, RawFrame* frame);

class WirePeer {
 public:
  // Connects to `address` (or fails with UNAVAILABLE or DEADLINE_EXCEEDED
  // by `deadline`). Sends nothing.
  static absl::StatusOr<std::unique_ptr<WirePeer>> Connect(
      const Address& address, absl::Time deadline);
  // Wraps an accepted or connected socket (made non-blocking here).
  explicit WirePeer(Fd fd);

  WirePeer(const WirePeer&) = delete;
  WirePeer& operator=(const WirePeer&) = delete;

  // Writes all of `bytes`, or fails with UNAVAILABLE (the peer closed or
  // reset the connection) or DEADLINE_EXCEEDED (it stopped reading).
  absl::Status Send(absl::string_view bytes, absl::Time deadline);

  // Reads exactly `count` bytes. OUT_OF_RANGE if the connection ends first
  // (the message says after how many), UNAVAILABLE on a reset,
  // DEADLINE_EXCEEDED if they do not all arrive in time.
  absl::StatusOr<std::string> ReadExactly(size_t count, absl::Time deadline);

  // Reads one frame. Fails like ReadExactly. A payload longer than
  // `max_payload` is read and dropped (the frame's `payload` is then empty
  // and `bytes` holds only the header).
  absl::StatusOr<RawFrame> ReadFrame(absl::Time deadline,
                                     size_t max_payload = 64u << 20);

  // Waits for the peer to close the connection, discarding what it sends.
  // OK at end of stream or on a reset; DEADLINE_EXCEEDED if it is still
  // open at `deadline`.
  absl::Status WaitForClose(absl::Time deadline);

  // Closes our side for writing (shutdown(SHUT_WR)): the peer reads EOF.
  void CloseForWriting();

  // The bytes read so far, in order: the first kKeptBytes of them.
  static constexpr size_t kKeptBytes = 64 * 1024;
  const std::string& received() const { return received_; }
  int fd() const { return fd_.get(); }

 private:
  // Reads what is available into `pending_`, waiting until `deadline` for
  // at least one byte. OUT_OF_RANGE at end of stream.
  absl::Status Fill(absl::Time deadline);

  Fd fd_;
  std::string pending_;   // read, not yet handed out
  std::string received_;  // everything read
  bool at_eof_ = false;
};

// "53 4f 43 4b" - bytes in hex, at most `limit` of them, then "... (N
// bytes)" if there were more.
std::string Hex(absl::string_view bytes, size_t limit = 96);

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_WIRE_PEER_H_
