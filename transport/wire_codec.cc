#include "transport/wire_codec.h"

#include "absl/strings/str_cat.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace {

// Grows `out` by a frame header plus `payload_size` bytes and writes the
// header; returns where the payload goes.
char* AppendHeader(std::string* out, FrameType type, uint8_t flags,
                   uint32_t stream_id, size_t payload_size) {
  size_t start = out->size();
  out->resize(start + kFrameHeaderSize + payload_size);
  FrameHeader header;
  header.length = static_cast<uint32_t>(payload_size);
  header.stream_id = stream_id;
  header.type = static_cast<uint8_t>(type);
  header.flags = flags;
  EncodeFrameHeader(header, &(*out)[start]);
  return &(*out)[start + kFrameHeaderSize];
}

}  // namespace

absl::Status AppendMessageFrame(std::string* out, FrameType type,
                                uint8_t flags, uint32_t stream_id,
                                const google::protobuf::MessageLite& message,
                                uint32_t max_frame_size) {
  size_t size = message.ByteSizeLong();
  if (size > max_frame_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("message of ", size, " bytes exceeds the frame limit of ",
                     max_frame_size, " bytes"));
  }
  char* payload = AppendHeader(out, type, flags, stream_id, size);
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(payload));
  return absl::OkStatus();
}

void AppendRawFrame(std::string* out, FrameType type, uint8_t flags,
                    uint32_t stream_id, absl::string_view payload) {
  char* dest = AppendHeader(out, type, flags, stream_id, payload.size());
  if (!payload.empty()) memcpy(dest, payload.data(), payload.size());
}

void AppendWindowUpdateFrame(std::string* out, uint32_t stream_id,
                             uint32_t increment) {
  char payload[kWindowUpdateSize];
  EncodeWindowUpdate(increment, payload);
  AppendRawFrame(out, FrameType::kWindowUpdate, 0, stream_id,
                 absl::string_view(payload, sizeof(payload)));
}

void AppendPreface(std::string* out) {
  size_t start = out->size();
  out->resize(start + kPrefaceSize);
  EncodePreface(&(*out)[start]);
}

absl::StatusCode StatusCodeFromWire(uint32_t code) {
  if (code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
    return absl::StatusCode::kUnknown;
  }
  return static_cast<absl::StatusCode>(code);
}

absl::Status StatusFromWire(uint32_t code, absl::string_view message) {
  absl::StatusCode absl_code = StatusCodeFromWire(code);
  if (absl_code == absl::StatusCode::kOk) return absl::OkStatus();
  if (code != static_cast<uint32_t>(absl_code)) {
    return absl::Status(absl_code, absl::StrCat("unknown status code ", code,
                                                ": ", message));
  }
  return absl::Status(absl_code, message);
}

void StatusToWire(const absl::Status& status, wire::CallStatus* out) {
  out->set_code(static_cast<uint32_t>(status.code()));
  out->set_message(std::string(status.message()));
}

void MetadataToWire(
    const Metadata& metadata,
    google::protobuf::RepeatedPtrField<wire::MetadataEntry>* out) {
  out->Reserve(out->size() + static_cast<int>(metadata.size()));
  for (const auto& [key, value] : metadata) {
    wire::MetadataEntry* entry = out->Add();
    entry->set_key(key);
    entry->set_value(value);
  }
}

Metadata MetadataFromWire(
    const google::protobuf::RepeatedPtrField<wire::MetadataEntry>& entries) {
  Metadata metadata;
  metadata.reserve(entries.size());
  for (const wire::MetadataEntry& entry : entries) {
    metadata.emplace_back(entry.key(), entry.value());
  }
  return metadata;
}

}  // namespace sockrpc
