// InspectEvent: one line of `sockrpc tap` / `sockrpc decode` output -- a
// connection opening or closing, a preface, a frame, or bytes that could not
// be cut into frames. The decoders produce events; frame_printer.h prints
// them. Internal to the tool.
//
// A plain value type; thread-compatible.
#ifndef SOCKRPC_TOOLS_CLI_INSPECT_EVENT_H_
#define SOCKRPC_TOOLS_CLI_INSPECT_EVENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "transport/frame.h"

namespace sockrpc {
namespace cli {

// Direction says who sent the bytes: the side that connected (the client)
// or the side that accepted (the server).
enum class Direction : uint8_t { kClientToServer = 0, kServerToClient = 1 };

// "C->S" or "S->C".
const char* DirectionArrow(Direction direction);
// "client" or "server": the sender.
const char* DirectionSender(Direction direction);

enum class EventKind : uint8_t {
  kOpen,       // a client connected; `text` describes the two ends
  kPreface,    // a valid connection preface
  kFrame,      // a frame with a valid header (see the payload fields)
  kMalformed,  // a bad preface or frame header; `bytes` holds it
  kUnframed,   // bytes after a malformed header, not cut into frames
  kTruncated,  // the direction ended inside a preface, header or payload
  kEnd,        // the direction ended: `text` is "EOF" or why it failed
  kFds,        // descriptors came with the bytes from `offset` on (the tap
               // only): `fds` describes each
};

struct InspectEvent {
  EventKind kind = EventKind::kFrame;
  absl::Time time;           // when the bytes that completed the event arrived
  uint32_t connection = 0;   // the tap's connection id, from 1
  Direction direction = Direction::kClientToServer;
  uint64_t offset = 0;       // byte offset of the event in its direction

  // kFrame (and kTruncated once the header was complete).
  bool has_header = false;
  FrameHeader header;
  bool payload_skipped = false;  // over the tool's size limit: not kept

  // What the frame means, where known.
  std::string method;        // the stream's method, from the client HEADERS
  std::string message_type;  // full name of the type the payload decoded as
  std::string json;          // the decoded payload as compact JSON

  // Why something was not decoded (empty when everything was).
  std::string error;
  // The payload as protobuf fields without a schema (protoc --decode_raw
  // style), when it parses as protobuf but not as the expected type.
  std::string raw_fields;
  // Bytes shown as they are: undecodable payloads, malformed headers,
  // unframed or truncated data. May be cut short for display:
  // `bytes_total` is the full count.
  std::string bytes;
  uint64_t bytes_total = 0;

  // kOpen: the two ends; kEnd: "EOF" or the failure; kFds: what became of
  // the descriptors ("passed on", or why they were not).
  std::string text;
  // kFds: what each descriptor is (tools/cli/fd_description.h).
  std::vector<std::string> fds;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_INSPECT_EVENT_H_
