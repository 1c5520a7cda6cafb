// StreamDecoder cuts one direction of a sockrpc connection -- the bytes one
// side sent -- into the pieces docs/PROTOCOL.md defines: the preface, then
// frames. It only frames; what a payload means is connection_decoder.h's
// job. Internal to the tool.
//
// It never fails and never gives up silently: a bad preface or a malformed
// frame header is reported as a kMalformed piece, and from then on the rest
// of the direction comes out as kUnframed bytes (a receiver cannot trust
// the framing after a bad header either). A direction that ends inside a
// preface, header or payload gives a kTruncated piece.
//
// Frames are cut with transport/frame_reader.h. The decoder hands the reader
// at most one frame's bytes at a time, so that it always knows where the
// current frame began and can show a malformed header's bytes.
//
// Not thread-safe: one thread feeds a decoder at a time.
#ifndef SOCKRPC_TOOLS_CLI_STREAM_DECODER_H_
#define SOCKRPC_TOOLS_CLI_STREAM_DECODER_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "transport/frame.h"
#include "transport/frame_reader.h"

namespace sockrpc {
namespace cli {

// The tool's default limit on a payload it keeps for decoding: 64 MiB, far
// above the runtimes' default of 4 MiB. Larger payloads are skipped (their
// header is still shown).
inline constexpr uint32_t kDefaultInspectMaxPayload = 64u << 20;

class StreamDecoder {
 public:
  // One piece of the byte stream. The views are valid only during the
  // callback that receives the piece.
  struct Piece {
    enum class Kind {
      kPreface,    // bytes: the 8 valid preface bytes
      kFrame,      // header + payload
      kOversized,  // header; the payload (header.length bytes) is skipped
      kMalformed,  // bytes: the bad preface or header; reason: why
      kUnframed,   // bytes: data after a kMalformed piece
      kTruncated,  // the stream ended early; reason says where; bytes: the
                   // partial preface/header; header set if it was complete
    };
    Kind kind = Kind::kFrame;
    uint64_t offset = 0;  // where the piece starts in the direction
    bool has_header = false;
    FrameHeader header;
    absl::string_view payload;
    absl::string_view bytes;
    std::string reason;
  };
  using Sink = absl::FunctionRef<void(const Piece&)>;

  explicit StreamDecoder(uint32_t max_payload = kDefaultInspectMaxPayload);

  // Feeds the next bytes of the direction; `sink` gets every piece they
  // complete, in order.
  void Feed(absl::string_view bytes, Sink sink);

  // Ends the direction: reports a kTruncated piece if it stopped inside
  // a preface, header or payload. Later Feed() calls are ignored.
  void Finish(Sink sink);

  // Bytes fed so far.
  uint64_t position() const { return position_; }

 private:
  enum class State { kPreface, kHeader, kPayload, kSkip, kUnframed, kDone };

  // Each takes some of `*bytes` (removing them) and may emit a piece.
  void TakePreface(absl::string_view* bytes, Sink sink);
  void TakeHeader(absl::string_view* bytes, Sink sink);
  void TakePayload(absl::string_view* bytes, Sink sink);
  // Copies `bytes` into the reader.
  void FeedReader(absl::string_view bytes);
  // Asks the reader for the frame it holds now, and emits what it says.
  void CollectFrame(Sink sink);

  const uint32_t max_payload_;
  FrameReader reader_;
  State state_ = State::kPreface;
  uint64_t position_ = 0;      // bytes fed so far
  uint64_t piece_start_ = 0;   // offset where the current piece began
  std::string partial_;        // preface or header bytes received so far
  FrameHeader header_;         // kPayload, kSkip: the current frame's header
  uint64_t remaining_ = 0;     // kPayload, kSkip: payload bytes still due
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_STREAM_DECODER_H_
