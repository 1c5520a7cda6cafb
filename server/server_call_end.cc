// How a call ends: its outcome settled once (a handler's return, a
// reactor's Finish(), or a status Cancel() forced), then its last frames
// ([HEADERS] [FDS] [MESSAGE] STATUS) put together and sent in one write,
// and the call taken out of its connection's table. A small unary reply
// with nothing but its message is put together on the stack.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/server_call.h"
#include "server/server_connection.h"
#include "server/server_stats.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// Bytes to reserve for a call's last frames beyond its reply's encoding:
// the frame headers and a short STATUS.
constexpr size_t kFinalFramesSize = 3 * kFrameHeaderSize + 64;

}  // namespace

void ServerCallState::SettleLocked(
    const google::protobuf::MessageLite** unary_reply, absl::Status* status) {
  if (!forced_status_.has_value()) return;
  // Cancel() fixed the outcome (a deadline, a shutdown): the handler's
  // own, if it got here first, does not count.
  *status = *forced_status_;
  *unary_reply = nullptr;
}

absl::Status ServerCallState::EndCall(
    const google::protobuf::MessageLite* unary_reply, absl::Status status) {
  // With interceptors, a call that ends with its handler's outcome (not a
  // status Cancel() forced) is settled first under mu_ (finished_: nothing
  // else ends it meanwhile; a Cancel() returns at once), then the hooks
  // run without the lock. Only the handler's own flow gets here that way
  // (its return, its reactor's Finish()), so OnDone() cannot run meanwhile.
  bool settled = false;
  if (ABSL_PREDICT_FALSE(interceptors_started() > 0)) {
    {
      MutexLock lock(&mu_);
      if (finished_) return cancel_reason_;
      if (!forced_status_.has_value()) {
        finished_ = true;
        settled = true;
      }
    }
    if (settled) {
      // The metadata check first, so that the hooks see that outcome.
      const absl::Status metadata_ok = ResponseMetadataStatus();
      if (status.ok() && !metadata_ok.ok()) {
        status = absl::InternalError(absl::StrCat(
            "handler set invalid metadata: ", metadata_ok.message()));
      }
      RunEndHooks(&unary_reply, &status);
    }
  }
  char small[kSmallFinalFramesSize];
  size_t small_size = 0;
  std::string out;
  std::vector<Fd> reply_fds;
  size_t fds_offset = 0;
  {
    MutexLock lock(&mu_);
    if (!settled) {
      if (finished_) return cancel_reason_;
      finished_ = true;
      SettleLocked(&unary_reply, &status);
    }
    small_size = PutSmallFinalFramesLocked(unary_reply, status, small);
    if (ABSL_PREDICT_FALSE(small_size == 0)) {
      out = connection_->TakeBuffer();
      status = AppendFinalFramesLocked(unary_reply, std::move(status), &out,
                                       &reply_fds, &fds_offset);
    }
    cancel_reason_ = status;  // what any later EndCall() reports
    // (Status::code() is out of line in Debian's Abseil: asked only with
    // stats on, and not for OK.)
    if (ABSL_PREDICT_FALSE(stats_ != nullptr)) {
      CountEndLocked(status.ok() ? absl::StatusCode::kOk : status.code());
    }
  }
  if (ABSL_PREDICT_TRUE(small_size > 0)) {
    connection_->FinishCall(stream_id_, absl::string_view(small, small_size));
  } else if (ABSL_PREDICT_TRUE(reply_fds.empty())) {
    connection_->FinishCall(stream_id_, std::move(out));
  } else {
    connection_->FinishCallWithFds(stream_id_, std::move(out), fds_offset,
                                   std::move(reply_fds));
  }
  return status;
}

size_t ServerCallState::PutSmallFinalFramesLocked(
    const google::protobuf::MessageLite* unary_reply,
    const absl::Status& status, char* out) {
  // Most unary calls end OK with a small reply and nothing else: no
  // metadata either way, no descriptors, no frames held by a buffer hint.
  if (unary_reply == nullptr || !status.ok() || hinted_ != nullptr ||
      context_.fds_.attached() > 0 || !context_.initial_metadata().empty() ||
      !context_.trailing_metadata().empty()) {
    return 0;
  }
  const size_t reply_size = unary_reply->ByteSizeLong();
  if (reply_size > kSmallFinalFramesSize - 2 * kFrameHeaderSize ||
      reply_size > connection_->max_frame_size()) {
    return 0;
  }
  initial_metadata_sent_ = true;  // (there is none)
  char* end = EncodeMessageFrameOfSize(out, FrameType::kMessage, 0, stream_id_,
                                       *unary_reply, reply_size);
  return EncodeOkStatusFrame(end, stream_id_) - out;
}

absl::Status ServerCallState::AppendFinalFramesLocked(
    const google::protobuf::MessageLite* unary_reply, absl::Status status,
    std::string* out, std::vector<Fd>* reply_fds, size_t* fds_offset) {
  const uint32_t max_frame_size = connection_->max_frame_size();
  if (ABSL_PREDICT_FALSE(hinted_ != nullptr) && !cancelled_) {
    // Replies written with the buffer hint leave with the STATUS, in the
    // same write.
    std::string frames = TakeHintedLocked();
    if (!frames.empty()) {
      std::swap(*out, frames);
      connection_->GiveBuffer(std::move(frames));
    }
  }
  const absl::Status metadata_ok = ResponseMetadataStatus();
  if (status.ok() && !metadata_ok.ok()) {
    status = absl::InternalError(
        absl::StrCat("handler set invalid metadata: ", metadata_ok.message()));
  }
  if (ABSL_PREDICT_FALSE(unary_reply != nullptr && status.ok() &&
                         context_.fds_.attached() > 0)) {
    status = TakeReplyFds(reply_fds);
  }
  if (!status.ok()) unary_reply = nullptr;
  const size_t reply_size =
      unary_reply != nullptr ? unary_reply->ByteSizeLong() : 0;
  // Room for every frame at once: [HEADERS] [MESSAGE] STATUS.
  out->reserve(out->size() + kFinalFramesSize + reply_size);
  AppendInitialMetadataLocked(out);
  if (!reply_fds->empty() && unary_reply != nullptr) {
    *fds_offset = AppendFdsFrame(out, reply_fds->size());
  }
  if (unary_reply != nullptr) {
    const size_t before = out->size();
    absl::Status fits =
        AppendMessageFrameOfSize(out, FrameType::kMessage, 0, stream_id_,
                                 *unary_reply, reply_size, max_frame_size);
    if (!fits.ok()) {
      out->resize(reply_fds->empty() ? before : *fds_offset);
      reply_fds->clear();
      status = absl::ResourceExhaustedError(
          absl::StrCat("reply too large: ", fits.message()));
    }
  }
  static const Metadata kNoTrailers;
  return AppendStatusFrame(
      out, stream_id_, status,
      metadata_ok.ok() ? context_.trailing_metadata() : kNoTrailers,
      max_frame_size);
}

void ServerCallState::CountEnd(absl::StatusCode code) {
  end_counted_ = true;
  stats_->CallEnded(code, stats_start_);
}

size_t ServerCallState::max_metadata_size() const {
  return connection_->max_metadata_size();
}

absl::Status ServerCallState::ResponseMetadataStatus() const {
  if (context_.initial_metadata().empty() &&
      context_.trailing_metadata().empty()) {
    return absl::OkStatus();  // most calls: nothing to check
  }
  absl::Status status =
      ValidateMetadata(context_.initial_metadata(), max_metadata_size());
  if (status.ok()) {
    status = ValidateMetadata(
        context_.trailing_metadata(),
        max_metadata_size() - MetadataSize(context_.initial_metadata()));
  }
  return status;
}

void ServerCallState::AppendInitialMetadataLocked(std::string* out) {
  if (initial_metadata_sent_) return;
  initial_metadata_sent_ = true;
  if (context_.initial_metadata().empty() ||
      !ValidateMetadata(context_.initial_metadata(), max_metadata_size())
           .ok()) {
    return;
  }
  wire::ResponseHeader header;
  MetadataToWire(context_.initial_metadata(), header.mutable_metadata());
  (void)AppendMessageFrame(out, FrameType::kHeaders, 0, stream_id_, header,
                           connection_->max_frame_size());
}

absl::Status ServerCallState::TakeReplyFds(std::vector<Fd>* fds) {
  *fds = context_.fds_.TakeAttached();
  if (ABSL_PREDICT_TRUE(fds->empty())) return absl::OkStatus();
  const uint32_t accepted = connection_->client_max_fds();
  if (accepted == 0) {
    fds->clear();
    return absl::FailedPreconditionError(
        absl::StrCat("reply not sent: the client (", context_.peer(),
                     ") accepts no file descriptors",
                     context_.peer_credentials().has_value()
                         ? " (it announced none in its SETTINGS)"
                         : " (they pass only over unix sockets)"));
  }
  if (fds->size() > accepted) {
    const size_t count = fds->size();
    fds->clear();
    return absl::FailedPreconditionError(
        absl::StrCat("reply not sent: ", count,
                     " file descriptors in one message, but the client "
                     "accepts at most ",
                     accepted));
  }
  return absl::OkStatus();
}

size_t ServerCallState::AppendFdsFrame(std::string* out, size_t count) const {
  const size_t offset = out->size();
  sockrpc::AppendFdsFrame(out, stream_id_, count);
  return offset;
}

}  // namespace sockrpc
