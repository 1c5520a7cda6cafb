// ServerConnection's part of passing file descriptors (docs/PROTOCOL.md
// section 16): our SETTINGS, the descriptors each read brings, and the
// FDS frames that hand them to the next MESSAGE of their call.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"
#include "transport/wire_codec.h"

namespace sockrpc {

void ServerConnection::AppendSettings(std::string* out) const {
  if (!accepts_fds_) return;
  wire::Settings settings;
  settings.set_max_fds_per_message(std::min(
      runtime_->options().max_fds_per_message, kMaxFdsPerMessageLimit));
  (void)AppendMessageFrame(out, FrameType::kSettings, 0, 0, settings,
                           kDefaultMaxFrameSize);
}

void ServerConnection::NoteRead(size_t n, std::vector<Fd>* fds) {
  if (ABSL_PREDICT_FALSE(!fds->empty())) {
    const uint64_t before = bytes_received_.Get();
    received_fds_.Add(before, before + n, std::move(*fds));
  }
  bytes_received_.Add(n);
}

bool ServerConnection::CheckFdsClaimed() {
  absl::Status claimed = received_fds_.CheckNoneLeftBefore(
      bytes_received_.Get() - reader_.buffered());
  return claimed.ok() || ProtocolError(claimed);
}

bool ServerConnection::HandleSettings(const FrameReader::Frame& frame,
                                      bool first_frame) {
  if (!first_frame) {
    return ProtocolError(absl::InvalidArgumentError(
        "SETTINGS frame that is not the client's first"));
  }
  wire::Settings settings;
  if (!settings.ParseFromArray(frame.payload.data(),
                               static_cast<int>(frame.payload.size()))) {
    return ProtocolError(
        absl::InvalidArgumentError("SETTINGS payload does not parse"));
  }
  client_max_fds_.store(
      std::min(settings.max_fds_per_message(), kMaxFdsPerMessageLimit),
      std::memory_order_relaxed);
  return true;
}

bool ServerConnection::HandleFds(const FrameReader::Frame& frame) {
  if (!accepts_fds_) {
    return ProtocolError(absl::InvalidArgumentError(
        "FDS frame, but this server accepts no file descriptors"));
  }
  wire::FdsHeader header;
  if (!header.ParseFromArray(frame.payload.data(),
                             static_cast<int>(frame.payload.size()))) {
    return ProtocolError(
        absl::InvalidArgumentError("FDS payload does not parse"));
  }
  const uint32_t limit = runtime_->options().max_fds_per_message;
  if (header.count() == 0 || header.count() > limit) {
    return ProtocolError(absl::InvalidArgumentError(absl::StrCat(
        "FDS frame announces ", header.count(), " descriptors; 1 to ", limit,
        " may come with a message")));
  }
  absl::StatusOr<std::vector<Fd>> fds =
      received_fds_.Take(frame_begin_, header.count());
  if (!fds.ok()) return ProtocolError(fds.status());
  fds_stream_ = frame.header.stream_id;
  const size_t held = fds_held_.load(std::memory_order_relaxed);
  fds_over_limit_ =
      held + fds->size() > runtime_->options().max_fds_per_connection;
  if (fds_over_limit_) return true;  // closed here; the call will fail
  fds_held_.fetch_add(fds->size());
  fds_for_message_ = *std::move(fds);
  return true;
}

bool ServerConnection::CheckFdsFollowed(const FrameHeader& header) {
  if (header.type == static_cast<uint8_t>(FrameType::kMessage) &&
      header.stream_id == fds_stream_) {
    return true;
  }
  ReleaseFds(fds_for_message_.size());
  fds_for_message_.clear();
  return ProtocolError(absl::InvalidArgumentError(
      absl::StrCat("FDS frame for stream ", fds_stream_, " followed by a ",
                   FrameTypeName(header.type), " frame of stream ",
                   header.stream_id, " instead of its MESSAGE")));
}

std::vector<Fd> ServerConnection::TakeMessageFds(bool* over_limit) {
  *over_limit = fds_over_limit_;
  fds_over_limit_ = false;
  fds_stream_ = 0;
  std::vector<Fd> fds = std::move(fds_for_message_);
  fds_for_message_.clear();
  return fds;
}

}  // namespace sockrpc
