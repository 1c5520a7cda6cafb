// ConnectionDecoder turns the bytes of one sockrpc connection, both
// directions, into InspectEvents: framing by two StreamDecoders, then each
// payload decoded by what the frame is -- the wire messages of
// proto/sockrpc/wire.proto for HEADERS, STATUS, CANCEL and GOAWAY; the
// method's request type (client to server) or reply type (server to client)
// for MESSAGE, where the method is the one the client's HEADERS named on
// that stream. Internal to the tool.
//
// Nothing it is given can make it fail: a payload that does not decode is
// reported with the reason and shown as raw protobuf fields or as hex.
//
// Not thread-safe: the caller serializes calls (the tap does so under its
// output lock, which also keeps the two directions' events in order).
#ifndef SOCKRPC_TOOLS_CLI_CONNECTION_DECODER_H_
#define SOCKRPC_TOOLS_CLI_CONNECTION_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "tools/cli/inspect_event.h"
#include "tools/cli/stream_decoder.h"

namespace sockrpc {
namespace cli {

struct DecodeOptions {
  // Where request and reply types are looked up; null: no schema, so
  // messages are shown as raw fields. Borrowed: it must outlive the
  // decoder.
  const google::protobuf::DescriptorPool* pool = nullptr;
  // Larger payloads are not kept (their header is still shown).
  uint32_t max_payload = kDefaultInspectMaxPayload;
  // At most this many bytes go into an event's `bytes`.
  size_t max_shown_bytes = 1024;
};

class ConnectionDecoder {
 public:
  ConnectionDecoder(uint32_t connection, const DecodeOptions& options);
  ConnectionDecoder(const ConnectionDecoder&) = delete;
  ConnectionDecoder& operator=(const ConnectionDecoder&) = delete;

  // A client connected; `description` says who and where to.
  void Open(absl::Time time, absl::string_view description,
            std::vector<InspectEvent>* out);
  // `bytes` arrived in `direction` at `time`.
  void Data(Direction direction, absl::Time time, absl::string_view bytes,
            std::vector<InspectEvent>* out);
  // `direction` ended: `failure` is empty for an orderly end of stream,
  // else what went wrong (a reset, an upstream that could not be reached).
  void End(Direction direction, absl::Time time, absl::string_view failure,
           std::vector<InspectEvent>* out);

 private:
  InspectEvent MakeEvent(EventKind kind, Direction direction,
                         absl::Time time) const;
  void AddPiece(Direction direction, absl::Time time,
                const StreamDecoder::Piece& piece,
                std::vector<InspectEvent>* out);
  // Fills the event's method/message/error fields from a frame's payload.
  void DecodePayload(absl::string_view payload, InspectEvent* event);
  void DecodeMessage(absl::string_view payload, InspectEvent* event);
  // Shows `payload` undecoded: as raw fields if it parses as protobuf, else
  // as hex.
  void ShowUndecoded(absl::string_view payload, InspectEvent* event) const;
  void SetBytes(absl::string_view bytes, InspectEvent* event) const;

  const uint32_t connection_;
  const DecodeOptions options_;
  StreamDecoder decoders_[2];
  // stream id -> method, from the client's HEADERS; an entry goes when
  // the server's STATUS ends the stream.
  absl::flat_hash_map<uint32_t, std::string> methods_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_CONNECTION_DECODER_H_
