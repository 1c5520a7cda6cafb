// Wire protocol v1 framing: the connection preface and the fixed 12-byte
// frame header. docs/PROTOCOL.md is the specification; these constants are
// its code. Framing knows nothing of services or calls.
//
//   preface:  "SOCKRPC" (7 bytes ASCII) + version (1 byte, 0x01)
//
//   frame:    0               4               8       9       10      12
//             +---------------+---------------+-------+-------+-------+----
//             | length (BE32) | stream id     | type  | flags | 0 0   | payload
//             +---------------+---------------+-------+-------+-------+----
//
// Thread-safe: pure functions and constants.
#ifndef SOCKRPC_TRANSPORT_FRAME_H_
#define SOCKRPC_TRANSPORT_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sockrpc {

// The preface each side sends first: magic then protocol version.
inline constexpr size_t kPrefaceSize = 8;
inline constexpr char kPrefaceMagic[] = "SOCKRPC";  // 7 bytes, no NUL on wire
inline constexpr size_t kPrefaceMagicSize = 7;
inline constexpr uint8_t kProtocolVersion = 1;

// Writes our preface (magic + kProtocolVersion) into out[0..kPrefaceSize).
void EncodePreface(char* out);

// Checks a peer's preface. INVALID_ARGUMENT if the magic is wrong (the peer
// does not speak sockrpc; the message shows the bytes received),
// FAILED_PRECONDITION if it names a version other than kProtocolVersion.
absl::Status CheckPreface(absl::string_view preface);

inline constexpr size_t kFrameHeaderSize = 12;

// Default limit on a frame's payload, in bytes (4 MiB). Configurable.
inline constexpr uint32_t kDefaultMaxFrameSize = 4u << 20;

// Flow control: each side may have at most this many bytes of MESSAGE
// payload in flight on one stream beyond what the peer has acknowledged
// with WINDOW_UPDATE frames (see docs/PROTOCOL.md, "Flow control").
inline constexpr uint32_t kInitialWindowSize = 64 * 1024;

// Frame types. Unknown types are skipped by receivers (forward
// compatibility), so new types need no version bump.
enum class FrameType : uint8_t {
  kHeaders = 0x01,       // opens a call (client) / initial metadata (server)
  kMessage = 0x02,       // one protobuf-encoded message
  kStatus = 0x03,        // how a call ended (server -> client), last frame
  kCancel = 0x04,        // client abandons a call
  kWindowUpdate = 0x05,  // flow control: the receiver consumed N bytes
  kPing = 0x06,          // liveness check, stream 0
  kGoAway = 0x07,        // the sender is closing the connection, stream 0
  kHalfClose = 0x08,     // the client sends no more messages on the stream
  kSettings = 0x09,      // what the sender accepts; its first frame, stream 0
  kFds = 0x0A,           // the next MESSAGE carries file descriptors
};

// WINDOW_UPDATE payload: the increment, a big-endian uint32.
inline constexpr size_t kWindowUpdateSize = 4;
void EncodeWindowUpdate(uint32_t increment, char* out);
// Returns false if `payload` is not 4 bytes.
bool DecodeWindowUpdate(absl::string_view payload, uint32_t* increment);

// Frame flags.
inline constexpr uint8_t kFlagEndStream = 0x01;  // HEADERS, MESSAGE: sender's last
inline constexpr uint8_t kFlagAck = 0x01;        // PING: this is the reply

// Returns "HEADERS", "MESSAGE", ..., or "UNKNOWN" for an unknown type.
const char* FrameTypeName(uint8_t type);
// Whether `type` is one of FrameType's. Frames of other types (0x0B and
// up; 0x00 is a malformed header) are skipped whatever their stream id and
// length (PROTOCOL.md section 10): the frame-size limit ends no call over
// one of them.
inline bool IsKnownFrameType(uint8_t type) {
  return type >= static_cast<uint8_t>(FrameType::kHeaders) &&
         type <= static_cast<uint8_t>(FrameType::kFds);
}

// FrameHeader is a decoded header. `type` is kept raw so that unknown types
// survive decoding and can be skipped.
struct FrameHeader {
  uint32_t length = 0;     // payload bytes following the header
  uint32_t stream_id = 0;  // 0: the connection itself; else the call
  uint8_t type = 0;
  uint8_t flags = 0;
};

// The header's coding helpers, for the inline functions below (not API).
namespace frame_internal {

// Big-endian 32-bit integers, as every header field of more than a byte.
// Where the compiler tells the byte order, one swap (if any) and one move
// each: GCC builds the byte-by-byte form of two neighbouring fields out
// of a dozen shifts. Elsewhere, byte by byte.
#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ || \
                                __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
inline uint32_t ToFromBigEndian32(uint32_t value) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return __builtin_bswap32(value);
#else
  return value;
#endif
}
inline void PutBigEndian32(uint32_t value, char* out) {
  const uint32_t big_endian = ToFromBigEndian32(value);
  std::memcpy(out, &big_endian, sizeof(big_endian));
}
inline uint32_t GetBigEndian32(const char* in) {
  uint32_t big_endian;
  std::memcpy(&big_endian, in, sizeof(big_endian));
  return ToFromBigEndian32(big_endian);
}
#else
inline void PutBigEndian32(uint32_t value, char* out) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}
inline uint32_t GetBigEndian32(const char* in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
#endif

// Frame types that belong to a call (stream id > 0), and those that belong
// to the connection (stream id 0).
inline bool IsCallFrame(uint8_t type) {
  return (type >= static_cast<uint8_t>(FrameType::kHeaders) &&
          type <= static_cast<uint8_t>(FrameType::kCancel)) ||
         type == static_cast<uint8_t>(FrameType::kHalfClose) ||
         type == static_cast<uint8_t>(FrameType::kFds);
}
inline bool IsConnectionFrame(uint8_t type) {
  return type == static_cast<uint8_t>(FrameType::kPing) ||
         type == static_cast<uint8_t>(FrameType::kGoAway) ||
         type == static_cast<uint8_t>(FrameType::kSettings);
}

}  // namespace frame_internal

// Writes `header` into out[0..kFrameHeaderSize), big-endian. (Inline, as
// the decoder below: both run for every frame.)
inline void EncodeFrameHeader(const FrameHeader& header, char* out) {
  using frame_internal::PutBigEndian32;
  PutBigEndian32(header.length, out);
  PutBigEndian32(header.stream_id, out + 4);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
  out[10] = 0;
  out[11] = 0;
}

// Decodes in[0..kFrameHeaderSize). Rejects (INVALID_ARGUMENT, message says
// why) a header that breaks the rules every frame obeys: non-zero reserved
// bytes, type 0, a known call frame type (FDS included) on stream 0, or
// PING/GOAWAY/SETTINGS on a non-zero stream. The length is NOT checked here:
// the caller compares it with its limit before allocating anything.
absl::StatusOr<FrameHeader> DecodeFrameHeader(const char* in);
// The same check without a status to build: true with `*header` filled for
// a well-formed header, false otherwise (DecodeFrameHeader() says why).
// What FrameReader runs on every frame.
inline bool DecodeWellFormedFrameHeader(const char* in, FrameHeader* header) {
  using frame_internal::GetBigEndian32;
  using frame_internal::IsCallFrame;
  using frame_internal::IsConnectionFrame;
  header->length = GetBigEndian32(in);
  header->stream_id = GetBigEndian32(in + 4);
  header->type = static_cast<uint8_t>(in[8]);
  header->flags = static_cast<uint8_t>(in[9]);
  return in[10] == 0 && in[11] == 0 && header->type != 0 &&
         !(header->stream_id == 0 && IsCallFrame(header->type)) &&
         !(header->stream_id != 0 && IsConnectionFrame(header->type));
}

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FRAME_H_
