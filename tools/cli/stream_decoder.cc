#include "tools/cli/stream_decoder.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace cli {

StreamDecoder::StreamDecoder(uint32_t max_payload)
    : max_payload_(max_payload), reader_(max_payload) {}

void StreamDecoder::Feed(absl::string_view bytes, Sink sink) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kPreface:
        TakePreface(&bytes, sink);
        break;
      case State::kHeader:
        TakeHeader(&bytes, sink);
        break;
      case State::kPayload:
      case State::kSkip:
        TakePayload(&bytes, sink);
        break;
      case State::kUnframed: {
        Piece piece;
        piece.kind = Piece::Kind::kUnframed;
        piece.offset = position_;
        piece.bytes = bytes;
        position_ += bytes.size();
        bytes = absl::string_view();
        sink(piece);
        break;
      }
      case State::kDone:
        return;
    }
  }
}

void StreamDecoder::TakePreface(absl::string_view* bytes, Sink sink) {
  size_t n = std::min(kPrefaceSize - partial_.size(), bytes->size());
  partial_.append(bytes->data(), n);
  bytes->remove_prefix(n);
  position_ += n;
  if (partial_.size() < kPrefaceSize) return;
  Piece piece;
  piece.offset = 0;
  piece.bytes = partial_;
  absl::Status status = CheckPreface(partial_);
  if (status.ok()) {
    piece.kind = Piece::Kind::kPreface;
    state_ = State::kHeader;
  } else {
    piece.kind = Piece::Kind::kMalformed;
    piece.reason = std::string(status.message());
    state_ = State::kUnframed;
  }
  sink(piece);
  partial_.clear();
  piece_start_ = position_;
}

void StreamDecoder::TakeHeader(absl::string_view* bytes, Sink sink) {
  if (partial_.empty()) piece_start_ = position_;
  size_t n = std::min(kFrameHeaderSize - partial_.size(), bytes->size());
  partial_.append(bytes->data(), n);
  FeedReader(bytes->substr(0, n));
  bytes->remove_prefix(n);
  position_ += n;
  if (partial_.size() < kFrameHeaderSize) return;
  CollectFrame(sink);
}

void StreamDecoder::TakePayload(absl::string_view* bytes, Sink sink) {
  size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes->size()));
  FeedReader(bytes->substr(0, n));
  bytes->remove_prefix(n);
  position_ += n;
  remaining_ -= n;
  if (remaining_ > 0) return;
  if (state_ == State::kSkip) {
    state_ = State::kHeader;
    return;
  }
  CollectFrame(sink);
}

void StreamDecoder::FeedReader(absl::string_view bytes) {
  if (bytes.empty()) return;
  absl::Span<char> space = reader_.PrepareRead(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader_.CommitRead(bytes.size());
}

void StreamDecoder::CollectFrame(Sink sink) {
  FrameReader::Frame frame;
  absl::Status error;
  Piece piece;
  piece.offset = piece_start_;
  switch (reader_.Next(&frame, &error)) {
    case FrameReader::Result::kFrame:
      piece.kind = Piece::Kind::kFrame;
      piece.has_header = true;
      piece.header = frame.header;
      piece.payload = frame.payload;
      state_ = State::kHeader;
      partial_.clear();
      sink(piece);
      reader_.EndReads();
      return;
    case FrameReader::Result::kOversized:
      piece.kind = Piece::Kind::kOversized;
      piece.has_header = true;
      piece.header = frame.header;
      header_ = frame.header;
      remaining_ = frame.header.length;
      state_ = remaining_ > 0 ? State::kSkip : State::kHeader;
      partial_.clear();
      sink(piece);
      return;
    case FrameReader::Result::kNeedMore: {
      // A valid header whose payload has not all arrived: the reader
      // checked it, so decoding it again cannot fail.
      absl::StatusOr<FrameHeader> header = DecodeFrameHeader(partial_.data());
      header_ = header.ok() ? *header : FrameHeader();
      remaining_ = header_.length;
      state_ = State::kPayload;
      return;
    }
    case FrameReader::Result::kMalformed:
      piece.kind = Piece::Kind::kMalformed;
      piece.bytes = partial_;
      piece.reason = std::string(error.message());
      state_ = State::kUnframed;
      sink(piece);
      partial_.clear();
      return;
  }
}

void StreamDecoder::Finish(Sink sink) {
  Piece piece;
  piece.kind = Piece::Kind::kTruncated;
  piece.offset = piece_start_;
  switch (state_) {
    case State::kPreface:
      if (partial_.empty()) break;
      piece.bytes = partial_;
      piece.reason = absl::StrCat("ended inside the connection preface (",
                                  partial_.size(), " of ", kPrefaceSize,
                                  " bytes)");
      sink(piece);
      break;
    case State::kHeader:
      if (partial_.empty()) break;
      piece.bytes = partial_;
      piece.reason = absl::StrCat("ended inside a frame header (",
                                  partial_.size(), " of ", kFrameHeaderSize,
                                  " bytes)");
      sink(piece);
      break;
    case State::kPayload:
    case State::kSkip:
      piece.has_header = true;
      piece.header = header_;
      piece.reason = absl::StrCat("ended inside a frame payload (",
                                  header_.length - remaining_, " of ",
                                  header_.length, " bytes)");
      sink(piece);
      break;
    case State::kUnframed:
    case State::kDone:
      break;
  }
  state_ = State::kDone;
  partial_.clear();
}

}  // namespace cli
}  // namespace sockrpc
