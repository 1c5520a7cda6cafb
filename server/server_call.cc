#include "server/server_call.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_connection.h"
#include "server/server_context.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// Collects a handler's outcome as the frames of its reply.
class ReplyWriter final : public UnaryResponder {
 public:
  ReplyWriter(uint32_t stream_id, uint32_t max_frame_size,
              absl::Time deadline, const ServerContext& context,
              std::string* out)
      : stream_id_(stream_id),
        max_frame_size_(max_frame_size),
        deadline_(deadline),
        context_(context),
        out_(out) {}

  void Finish(const google::protobuf::MessageLite* reply,
              const absl::Status& handler_status) override {
    absl::Status status = handler_status;
    if (status.ok() && absl::Now() > deadline_) {
      status = absl::DeadlineExceededError(
          "the call's deadline passed before its handler finished");
    }
    if (status.ok()) {
      status = ValidateMetadata(context_.initial_metadata());
      if (status.ok()) status = ValidateMetadata(context_.trailing_metadata());
      if (!status.ok()) {
        status = absl::InternalError(
            absl::StrCat("handler set invalid metadata: ", status.message()));
      }
    }
    if (status.ok() && !context_.initial_metadata().empty()) {
      wire::ResponseHeader response_header;
      MetadataToWire(context_.initial_metadata(),
                     response_header.mutable_metadata());
      status = AppendMessageFrame(out_, FrameType::kHeaders, 0, stream_id_,
                                  response_header, max_frame_size_);
    }
    if (status.ok()) {
      status = AppendMessageFrame(out_, FrameType::kMessage, 0, stream_id_,
                                  *reply, max_frame_size_);
      if (!status.ok()) {
        status = absl::ResourceExhaustedError(
            absl::StrCat("reply too large: ", status.message()));
      }
    }
    if (!status.ok()) out_->clear();  // only the STATUS goes out
    wire::CallStatus call_status;
    StatusToWire(status, &call_status);
    if (status.ok() || ValidateMetadata(context_.trailing_metadata()).ok()) {
      MetadataToWire(context_.trailing_metadata(),
                     call_status.mutable_metadata());
    }
    absl::Status fits = AppendMessageFrame(out_, FrameType::kStatus, 0,
                                           stream_id_, call_status,
                                           max_frame_size_);
    if (!fits.ok()) {
      call_status.Clear();
      StatusToWire(absl::ResourceExhaustedError("trailing metadata too large"),
                   &call_status);
      out_->clear();
      (void)AppendMessageFrame(out_, FrameType::kStatus, 0, stream_id_,
                               call_status, kDefaultMaxFrameSize);
    }
  }

 private:
  const uint32_t stream_id_;
  const uint32_t max_frame_size_;
  const absl::Time deadline_;
  const ServerContext& context_;
  std::string* const out_;
};

}  // namespace

void ServerCall::Run() {
  ServerContext context;
  context.method_ = header_.method();
  context.deadline_ = deadline_;
  context.client_metadata_ = MetadataFromWire(header_.metadata());
  context.peer_ = connection_->peer();

  // One reply buffer per thread, reused from call to call.
  thread_local std::string out;
  out.clear();
  ReplyWriter writer(stream_id_, connection_->max_frame_size(), deadline_,
                     context, &out);
  if (absl::Now() > deadline_) {
    writer.Finish(nullptr, absl::DeadlineExceededError(
                               "the call's deadline passed before it started"));
  } else {
    method_->handler->RunUnary(&context, request_, &writer);
  }
  connection_->Send(out);
  if (out.capacity() > 256 * 1024) std::string().swap(out);
}

}  // namespace sockrpc
