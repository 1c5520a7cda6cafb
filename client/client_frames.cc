// ClientConnection's handling of the frames a server sends: the part of
// the reader role that turns each frame into a change of its call's state
// (see client/client_connection.h).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client_connection.h"
#include "sockrpc/wire.pb.h"
#include "transport/wire_codec.h"

namespace sockrpc {

bool ClientConnection::ProcessFrames() {
  for (;;) {
    FrameReader::Frame frame;
    absl::Status error;
    switch (in_.Next(&frame, &error)) {
      case FrameReader::Result::kNeedMore:
        return true;
      case FrameReader::Result::kMalformed:
        Fail(error);
        return false;
      case FrameReader::Result::kOversized: {
        // An unknown type is skipped, over the limit or not (PROTOCOL.md
        // section 10).
        if (!IsKnownFrameType(frame.header.type)) break;
        const uint32_t id = frame.header.stream_id;
        bool known;
        {
          MutexLock lock(&mu_);
          auto it = streams_.find(id);
          known = it != streams_.end();
          if (known) {
            EndStreamLocked(
                *it->second,
                absl::ResourceExhaustedError(absl::StrCat(
                    "reply frame of ", frame.header.length,
                    " bytes exceeds the limit of ", max_frame_size_,
                    " bytes")));
          }
        }
        if (known) SendCancel(id, "reply too large");
        break;
      }
      case FrameReader::Result::kFrame:
        HandleFrame(frame);
        break;
    }
  }
}

void ClientConnection::HandleFrame(const FrameReader::Frame& frame) {
  const uint32_t id = frame.header.stream_id;
  const char* data = frame.payload.data();
  const int size = static_cast<int>(frame.payload.size());
  switch (static_cast<FrameType>(frame.header.type)) {
    case FrameType::kHeaders: {
      wire::ResponseHeader header;
      if (!header.ParseFromArray(data, size)) return;
      Metadata metadata = MetadataFromWire(header.metadata());
      MutexLock lock(&mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) return;
      ClientCallState& stream = *it->second;
      stream.received_metadata_size_ += MetadataSize(metadata);
      if (stream.received_metadata_size_ > max_metadata_size_) {
        EndStreamLocked(stream, ReplyMetadataTooLarge(stream));
        return;
      }
      if (stream.context_ != nullptr) {
        stream.context_->initial_metadata_ = std::move(metadata);
      }
      stream.got_metadata_ = true;
      NotifyLocked(stream);
      return;
    }
    case FrameType::kMessage: {
      MutexLock lock(&mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) return;  // abandoned call
      ClientCallState& stream = *it->second;
      if (stream.direct_reply_ == nullptr) {
        stream.inbox_.Push(frame.payload);
      } else if (stream.got_reply_) {
        EndStreamLocked(stream,
                        absl::InternalError(
                            "server sent more than one reply to a unary call"));
      } else if (!stream.direct_reply_->ParseFromArray(data, size)) {
        EndStreamLocked(stream, absl::InternalError(absl::StrCat(
                                    "failed to parse the reply (",
                                    stream.direct_reply_->GetTypeName(), ")")));
      } else {
        stream.got_reply_ = true;
      }
      stream.got_metadata_ = true;  // (a reply implies it)
      NotifyLocked(stream);
      return;
    }
    case FrameType::kStatus: {
      // An empty payload is a plain OK (what most calls end with): no
      // CallStatus to build.
      absl::Status result;
      Metadata metadata;
      if (size > 0) {
        wire::CallStatus status;
        result = status.ParseFromArray(data, size)
                     ? StatusFromWire(status.code(), status.message())
                     : absl::InternalError(
                           "malformed STATUS frame from the server");
        metadata = MetadataFromWire(status.metadata());
      }
      MutexLock lock(&mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) return;
      ClientCallState& stream = *it->second;
      stream.received_metadata_size_ += MetadataSize(metadata);
      if (stream.received_metadata_size_ > max_metadata_size_) {
        result = ReplyMetadataTooLarge(stream);
      } else if (stream.context_ != nullptr) {
        stream.context_->trailing_metadata_ = std::move(metadata);
      }
      EndStreamLocked(stream, result);
      return;
    }
    case FrameType::kWindowUpdate: {
      uint32_t increment;
      if (!DecodeWindowUpdate(frame.payload, &increment) || id == 0) return;
      MutexLock lock(&mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) return;
      it->second->send_window_ += increment;
      NotifyLocked(*it->second);  // a callback write may wait for room
      return;
    }
    case FrameType::kGoAway: {
      wire::GoAway goaway;
      (void)goaway.ParseFromArray(data, size);
      absl::Status why = absl::UnavailableError(absl::StrCat(
          "server at ", target_, " is going away: ",
          StatusFromWire(goaway.code(), goaway.message()).ToString()));
      MutexLock lock(&mu_);
      going_away_ = true;
      usable_.store(false);
      // Calls the server never saw fail now and may be retried elsewhere.
      std::vector<std::shared_ptr<ClientCallState>> unseen;
      for (const auto& [stream_id, stream] : streams_) {
        if (stream_id > goaway.last_stream_id()) unseen.push_back(stream);
      }
      for (const auto& stream : unseen) {
        stream->retryable_ = true;
        EndStreamLocked(*stream, why);
      }
      return;
    }
    case FrameType::kPing: {
      if (frame.header.flags & kFlagAck) return;
      std::string pong;
      AppendRawFrame(&pong, FrameType::kPing, kFlagAck, 0, frame.payload);
      SendControl(pong);
      return;
    }
    default:
      return;  // CANCEL, HALF_CLOSE and unknown types: nothing to do
  }
}

}  // namespace sockrpc
