#include "tests/interop/interop_service.h"

#include <cstdint>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/interop/interop_service_helpers.h"

namespace sockrpc {
namespace interop {

absl::Status InteropService::EmptyCall(ServerContext* context,
                                       const Nothing& request, Nothing* reply) {
  return absl::OkStatus();
}

absl::Status InteropService::UnaryCall(ServerContext* context,
                                       const UnaryRequest& request,
                                       UnaryReply* reply) {
  EchoMetadata(context);
  return AnswerUnary(request, reply);
}

absl::Status InteropService::SleepCall(ServerContext* context,
                                       const SleepRequest& request,
                                       Nothing* reply) {
  if (context->WaitForCancellation(absl::Now() + SleepTime(request))) {
    return ClientGone(*context);
  }
  return absl::OkStatus();
}

absl::Status InteropService::StreamingInputCall(
    ServerContext* context, ServerReader<UploadChunk>* reader,
    UploadSummary* reply) {
  UploadChunk chunk;
  uint64_t total = 0;
  uint32_t count = 0;
  while (reader->Read(&chunk)) {
    total += chunk.body().size();
    ++count;
  }
  if (context->IsCancelled()) return ClientGone(*context);
  reply->set_total_size(total);
  reply->set_chunk_count(count);
  return absl::OkStatus();
}

absl::Status InteropService::StreamingOutputCall(
    ServerContext* context, const DownloadRequest& request,
    ServerWriter<StreamChunk>* writer) {
  EchoMetadata(context);
  const absl::Duration pause = PauseBeforeEachReply(request);
  for (int i = 0; i < request.reply_sizes_size(); ++i) {
    if (pause > absl::ZeroDuration() &&
        context->WaitForCancellation(absl::Now() + pause)) {
      return ClientGone(*context);
    }
    if (!writer->Write(MakeChunk(i, request.reply_sizes(i)))) {
      return ClientGone(*context);
    }
  }
  return RequestedStatus(request.echo_status());
}

absl::Status InteropService::FullDuplexCall(
    ServerContext* context,
    ServerReaderWriter<StreamChunk, DuplexRequest>* stream) {
  EchoMetadata(context);
  DuplexRequest request;
  for (uint32_t index = 0; stream->Read(&request); ++index) {
    absl::Status requested = RequestedStatus(request.echo_status());
    if (!requested.ok()) return requested;
    if (!stream->Write(MakeChunk(index, request.reply_size()))) {
      return ClientGone(*context);
    }
  }
  if (context->IsCancelled()) return ClientGone(*context);
  return absl::OkStatus();
}

absl::Status InteropService::HalfDuplexCall(
    ServerContext* context,
    ServerReaderWriter<StreamChunk, DuplexRequest>* stream) {
  EchoMetadata(context);
  std::vector<DuplexRequest> requests;
  DuplexRequest request;
  while (stream->Read(&request)) requests.push_back(request);
  if (context->IsCancelled()) return ClientGone(*context);
  for (size_t index = 0; index < requests.size(); ++index) {
    absl::Status requested = RequestedStatus(requests[index].echo_status());
    if (!requested.ok()) return requested;
    if (!stream->Write(MakeChunk(static_cast<uint32_t>(index),
                                 requests[index].reply_size()))) {
      return ClientGone(*context);
    }
  }
  return absl::OkStatus();
}

}  // namespace interop
}  // namespace sockrpc
