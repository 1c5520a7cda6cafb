// The wire codec: builds outgoing frames from protobuf messages, and maps
// statuses and metadata between absl and the wire messages of
// proto/sockrpc/wire.proto. Used by both runtimes; knows no sockets.
//
// Thread-safe: free functions only.
#ifndef SOCKRPC_TRANSPORT_WIRE_CODEC_H_
#define SOCKRPC_TRANSPORT_WIRE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "sockrpc/wire.pb.h"
#include "transport/frame.h"
#include "transport/metadata.h"

namespace sockrpc {

// Appends one frame whose payload is `message`'s encoding, serialized
// straight into `out`. If the encoding exceeds `max_frame_size`, appends
// nothing and returns RESOURCE_EXHAUSTED naming both sizes.
absl::Status AppendMessageFrame(std::string* out, FrameType type,
                                uint8_t flags, uint32_t stream_id,
                                const google::protobuf::MessageLite& message,
                                uint32_t max_frame_size);
// The same for a caller that has just computed `size` =
// message.ByteSizeLong() (and not changed the message since): protobuf
// walks the message once less.
absl::Status AppendMessageFrameOfSize(
    std::string* out, FrameType type, uint8_t flags, uint32_t stream_id,
    const google::protobuf::MessageLite& message, size_t size,
    uint32_t max_frame_size);

// Writes the same frame into `out`, which has room for kFrameHeaderSize +
// `size` bytes, and returns the end of what it wrote. The caller has
// checked `size` against the peer's frame limit. (For replies put
// together on the stack.)
char* EncodeMessageFrameOfSize(char* out, FrameType type, uint8_t flags,
                               uint32_t stream_id,
                               const google::protobuf::MessageLite& message,
                               size_t size);

// Appends the HEADERS frame that opens a call: a CallHeader naming
// `method`, with `timeout_micros` (0: none) and `metadata`, encoded
// straight into `out` exactly as protobuf would encode the message (no
// wire::CallHeader is built). Fails like AppendMessageFrame.
absl::Status AppendCallHeaderFrame(std::string* out, uint8_t flags,
                                   uint32_t stream_id,
                                   absl::string_view method,
                                   uint64_t timeout_micros,
                                   const Metadata& metadata,
                                   uint32_t max_frame_size);

// The same HEADERS frame without metadata, written into `out`, which has
// room for PlainCallHeaderFrameSize() bytes; returns the end of what it
// wrote. (For requests put together on the stack.)
size_t PlainCallHeaderFrameSize(absl::string_view method,
                                uint64_t timeout_micros);
char* EncodePlainCallHeaderFrame(char* out, uint8_t flags, uint32_t stream_id,
                                 absl::string_view method,
                                 uint64_t timeout_micros);

// Appends the STATUS frame that ends call `stream_id` with `status` and
// the trailing metadata `trailers`: an empty payload for a plain OK (the
// encoding of an empty CallStatus), else a CallStatus. If that exceeds
// `max_frame_size`, appends a STATUS of RESOURCE_EXHAUSTED without
// trailers instead, saying which was too large. Returns the status that went
// into the frame.
absl::Status AppendStatusFrame(std::string* out, uint32_t stream_id,
                               const absl::Status& status,
                               const Metadata& trailers,
                               uint32_t max_frame_size);

// Writes the STATUS frame of a plain OK without trailers (a header and an
// empty payload: kFrameHeaderSize bytes) into `out`; returns its end.
char* EncodeOkStatusFrame(char* out, uint32_t stream_id);

// Appends one frame with the given raw payload (which must fit in a frame;
// used for the small control frames).
void AppendRawFrame(std::string* out, FrameType type, uint8_t flags,
                    uint32_t stream_id, absl::string_view payload);

// Appends a WINDOW_UPDATE frame giving the peer `increment` more bytes on
// `stream_id`.
void AppendWindowUpdateFrame(std::string* out, uint32_t stream_id,
                             uint32_t increment);

// Appends an FDS frame announcing `count` file descriptors for the
// MESSAGE frame of `stream_id` that follows it (PROTOCOL.md section 16.3).
void AppendFdsFrame(std::string* out, uint32_t stream_id, size_t count);

// Appends our connection preface.
void AppendPreface(std::string* out);

// StatusCodeFromWire maps a wire status code to absl's; the 17 gRPC codes
// have the same numbers in both, anything else becomes UNKNOWN.
absl::StatusCode StatusCodeFromWire(uint32_t code);

// StatusFromWire returns the absl::Status a CallStatus (or GoAway) carries.
absl::Status StatusFromWire(uint32_t code, absl::string_view message);

// StatusToWire fills `out`'s code and message from `status`.
void StatusToWire(const absl::Status& status, wire::CallStatus* out);

// DecodePlainCallHeader reads a CallHeader's encoding without protobuf
// when it holds only `method` and `timeout_micros` (fields 1 and 2, the
// common case): `*method` points into `payload`. False for anything else
// (metadata, unknown fields, a malformed encoding), and then the caller
// parses wire::CallHeader as usual, which also checks the method's UTF-8.
bool DecodePlainCallHeader(absl::string_view payload, absl::string_view* method,
                           uint64_t* timeout_micros);

// Metadata conversions, in order.
void MetadataToWire(
    const Metadata& metadata,
    google::protobuf::RepeatedPtrField<wire::MetadataEntry>* out);
Metadata MetadataFromWire(
    const google::protobuf::RepeatedPtrField<wire::MetadataEntry>& entries);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_WIRE_CODEC_H_
