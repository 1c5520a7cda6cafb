#include "tests/interop/interop_service.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/interop/interop_common.h"

namespace sockrpc {
namespace interop {
namespace {

// Copies the echo keys of the client's metadata into the reply's metadata.
// Must run before the handler's first Write().
void EchoMetadata(ServerContext* context) {
  for (const auto& [key, value] : context->client_metadata()) {
    if (key == kEchoInitialKey) context->AddInitialMetadata(key, value);
    if (key == kEchoTrailingKey) context->AddTrailingMetadata(key, value);
  }
}

// The status a request asked for: OK unless its code is set.
absl::Status RequestedStatus(const StatusToEcho& echo) {
  if (echo.code() == 0) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(echo.code()),
                      echo.message());
}

StreamChunk MakeChunk(uint32_t index, uint32_t size) {
  StreamChunk chunk;
  chunk.set_index(index);
  chunk.set_body(Pattern(size, index));
  return chunk;
}

absl::Status ClientGone(const ServerContext& context) {
  return absl::CancelledError(
      absl::StrCat(context.method(), ": the call ended before the reply"));
}

}  // namespace

absl::Status InteropService::EmptyCall(ServerContext* context,
                                       const Nothing& request, Nothing* reply) {
  return absl::OkStatus();
}

absl::Status InteropService::UnaryCall(ServerContext* context,
                                       const UnaryRequest& request,
                                       UnaryReply* reply) {
  EchoMetadata(context);
  absl::Status requested = RequestedStatus(request.echo_status());
  if (!requested.ok()) return requested;
  reply->set_body(Pattern(request.reply_size(), 0));
  reply->set_request_size(request.body().size());
  reply->set_request_fingerprint(Fingerprint(request.body()));
  return absl::OkStatus();
}

absl::Status InteropService::SleepCall(ServerContext* context,
                                       const SleepRequest& request,
                                       Nothing* reply) {
  if (context->WaitForCancellation(absl::Now() +
                                   absl::Milliseconds(request.sleep_ms()))) {
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
  for (int i = 0; i < request.reply_sizes_size(); ++i) {
    if (request.pause_us() > 0 &&
        context->WaitForCancellation(absl::Now() +
                                     absl::Microseconds(request.pause_us()))) {
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
