// ClientConnection's handling of the frames a server sends: the part of
// the reader role that turns each frame into a change of its call's state
// (see client/client_connection.h).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
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
        if (ABSL_PREDICT_FALSE(in_.fds_pending())) {
          if (!in_.FdsFollowedBy(frame.header, &error)) {
            Fail(error);
            return false;
          }
          in_.TakeMessageFds();  // the reply is refused: they close
        }
        // An unknown type is skipped, over the limit or not (PROTOCOL.md
        // section 10).
        if (!IsKnownFrameType(frame.header.type)) break;
        const uint32_t id = frame.header.stream_id;
        bool known;
        {
          MutexLock lock(&mu_);
          const std::shared_ptr<ClientCallState>* found = streams_.Find(id);
          known = found != nullptr;
          if (known) {
            EndStreamLocked(**found, absl::ResourceExhaustedError(absl::StrCat(
                                         "reply frame of ", frame.header.length,
                                         " bytes exceeds the limit of ",
                                         max_frame_size_, " bytes")));
          }
        }
        if (known) SendCancel(id, "reply too large");
        break;
      }
      case FrameReader::Result::kFrame:
        if (ABSL_PREDICT_FALSE(in_.fds_pending()) &&
            !in_.FdsFollowedBy(frame.header, &error)) {
          Fail(error);
          return false;
        }
        if (!HandleFrame(frame)) return false;
        break;
    }
  }
}

bool ClientConnection::HandleFirstFrame(const FrameReader::Frame& frame) {
  if (frame.header.type != static_cast<uint8_t>(FrameType::kSettings)) {
    return HandleFrame(frame);  // the server sends no SETTINGS
  }
  wire::Settings settings;
  if (!settings.ParseFromArray(frame.payload.data(),
                               static_cast<int>(frame.payload.size()))) {
    Fail(absl::InternalError(absl::StrCat(
        "protocol error from ", target_, ": SETTINGS payload does not parse")));
    return false;
  }
  server_max_fds_.store(
      std::min(settings.max_fds_per_message(), kMaxFdsPerMessageLimit),
      std::memory_order_relaxed);
  return true;
}

bool ClientConnection::HandleFrame(const FrameReader::Frame& frame) {
  const uint32_t id = frame.header.stream_id;
  const char* data = frame.payload.data();
  const int size = static_cast<int>(frame.payload.size());
  const bool first_frame = !server_frame_seen_;
  if (ABSL_PREDICT_FALSE(first_frame)) {
    server_frame_seen_ = true;
    // After this frame the server's SETTINGS are final, whatever it is.
    absl::Cleanup known = [this] { NoteSettingsKnown(); };
    return HandleFirstFrame(frame);
  }
  switch (static_cast<FrameType>(frame.header.type)) {
    case FrameType::kSettings:
      Fail(absl::InternalError(
          absl::StrCat("protocol error from ", target_,
                       ": SETTINGS frame that is not the server's first")));
      return false;
    case FrameType::kFds: {
      absl::Status taken = in_.TakeFds(frame);
      if (!taken.ok()) {
        Fail(taken);
        return false;
      }
      return true;
    }
    case FrameType::kHeaders: {
      wire::ResponseHeader header;
      if (!header.ParseFromArray(data, size)) return true;
      Metadata metadata = MetadataFromWire(header.metadata());
      MutexLock lock(&mu_);
      const std::shared_ptr<ClientCallState>* found = streams_.Find(id);
      if (found == nullptr) return true;
      ClientCallState& stream = **found;
      stream.received_metadata_size_ += MetadataSize(metadata);
      if (stream.received_metadata_size_ > max_metadata_size_) {
        EndStreamLocked(stream, ReplyMetadataTooLarge(stream));
        return true;
      }
      if (stream.context_ != nullptr) {
        stream.context_->initial_metadata_ = std::move(metadata);
      }
      stream.got_metadata_ = true;
      NotifyLocked(stream);
      return true;
    }
    case FrameType::kMessage: {
      MutexLock lock(&mu_);
      const std::shared_ptr<ClientCallState>* found = streams_.Find(id);
      if (found == nullptr) return true;  // abandoned call
      ClientCallState& stream = **found;
      std::vector<Fd> fds;
      if (ABSL_PREDICT_FALSE(in_.fds_pending())) fds = in_.TakeMessageFds();
      if (stream.direct_reply_ == nullptr) {
        stream.inbox_.Push(frame.payload, std::move(fds));
      } else if (stream.got_reply_) {
        EndStreamLocked(stream,
                        absl::InternalError(
                            "server sent more than one reply to a unary call"));
      } else if (!stream.direct_reply_->ParseFromArray(data, size)) {
        EndStreamLocked(stream, absl::InternalError(absl::StrCat(
                                    "failed to parse the reply (",
                                    stream.direct_reply_->GetTypeName(), ")")));
      } else if (absl::Status matched =
                     ABSL_PREDICT_TRUE(fds.empty() &&
                                       stream.context_ == nullptr)
                         ? absl::OkStatus()  // (most calls: nothing to match)
                         : AcceptReplyFds(stream, *stream.direct_reply_,
                                          std::move(fds));
                 ABSL_PREDICT_FALSE(!matched.ok())) {
        EndStreamLocked(stream, matched);
      } else {
        stream.got_reply_ = true;
        // A plain OK STATUS right behind the reply, in the same read (what
        // most unary calls end with), ends the call here, under this lock.
        if (in_.TakeEmptyFrame(FrameType::kStatus, id)) {
          stream.got_metadata_ = true;
          EndStreamLocked(stream, absl::OkStatus());
          return true;
        }
      }
      stream.got_metadata_ = true;  // (a reply implies it)
      NotifyLocked(stream);
      return true;
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
      const std::shared_ptr<ClientCallState>* found = streams_.Find(id);
      if (found == nullptr) return true;
      ClientCallState& stream = **found;
      stream.received_metadata_size_ += MetadataSize(metadata);
      if (stream.received_metadata_size_ > max_metadata_size_) {
        result = ReplyMetadataTooLarge(stream);
      } else if (stream.context_ != nullptr) {
        stream.context_->trailing_metadata_ = std::move(metadata);
      }
      EndStreamLocked(stream, result);
      return true;
    }
    case FrameType::kWindowUpdate: {
      uint32_t increment;
      if (!DecodeWindowUpdate(frame.payload, &increment) || id == 0)
        return true;
      MutexLock lock(&mu_);
      const std::shared_ptr<ClientCallState>* found = streams_.Find(id);
      if (found == nullptr) return true;
      (*found)->send_window_ += increment;
      NotifyLocked(**found);  // a callback write may wait for room
      return true;
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
      streams_.ForEach([&](uint32_t stream_id,
                           const std::shared_ptr<ClientCallState>& stream) {
        if (stream_id > goaway.last_stream_id()) unseen.push_back(stream);
      });
      for (const auto& stream : unseen) {
        stream->retryable_ = true;
        EndStreamLocked(*stream, why);
      }
      return true;
    }
    case FrameType::kPing: {
      if (frame.header.flags & kFlagAck) return true;
      std::string pong;
      AppendRawFrame(&pong, FrameType::kPing, kFlagAck, 0, frame.payload);
      SendControl(pong);
      return true;
    }
    default:
      return true;  // CANCEL, HALF_CLOSE and unknown types: nothing to do
  }
}

}  // namespace sockrpc
