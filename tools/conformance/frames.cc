#include "tools/conformance/frames.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/unknown_field_set.h"

namespace sockrpc {
namespace conformance {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

std::string Serialize(const UnknownFieldSet& fields) {
  std::string bytes;
  fields.SerializeToString(&bytes);
  return bytes;
}

void PutBigEndian32(uint32_t value, char* out) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

}  // namespace

std::string Preface(uint8_t version) {
  std::string bytes(kPrefaceMagic, kPrefaceMagicSize);
  bytes.push_back(static_cast<char>(version));
  return bytes;
}

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream_id,
                  absl::string_view payload, uint16_t reserved,
                  std::optional<uint32_t> length) {
  std::string bytes(kFrameHeaderSize, '\0');
  PutBigEndian32(length.value_or(static_cast<uint32_t>(payload.size())),
                 &bytes[0]);
  PutBigEndian32(stream_id, &bytes[4]);
  bytes[8] = static_cast<char>(type);
  bytes[9] = static_cast<char>(flags);
  bytes[10] = static_cast<char>(reserved >> 8);
  bytes[11] = static_cast<char>(reserved);
  bytes.append(payload.data(), payload.size());
  return bytes;
}

std::string Headers(uint32_t stream_id, absl::string_view method,
                    uint64_t timeout_micros, const Entries& metadata,
                    uint8_t flags) {
  wire::CallHeader header;
  header.set_method(std::string(method));
  header.set_timeout_micros(timeout_micros);
  for (const auto& [key, value] : metadata) {
    wire::MetadataEntry* entry = header.add_metadata();
    entry->set_key(key);
    entry->set_value(value);
  }
  return Frame(kHeaders, flags, stream_id, header.SerializeAsString());
}

std::string Message(uint32_t stream_id, absl::string_view payload,
                    uint8_t flags) {
  return Frame(kMessage, flags, stream_id, payload);
}

std::string UnaryCall(uint32_t stream_id, absl::string_view method,
                      absl::string_view request, uint64_t timeout_micros,
                      const Entries& metadata) {
  return Headers(stream_id, method, timeout_micros, metadata) +
         Message(stream_id, request, kFlagEndStream);
}

std::string HalfClose(uint32_t stream_id) {
  return Frame(kHalfClose, 0, stream_id, "");
}

std::string Cancel(uint32_t stream_id, absl::string_view reason) {
  wire::CancelCall cancel;
  cancel.set_reason(std::string(reason));
  return Frame(kCancel, 0, stream_id, cancel.SerializeAsString());
}

std::string WindowUpdate(uint32_t stream_id, uint32_t increment) {
  char payload[4];
  PutBigEndian32(increment, payload);
  return Frame(kWindowUpdate, 0, stream_id, absl::string_view(payload, 4));
}

std::string Ping(absl::string_view payload, uint8_t flags) {
  return Frame(kPing, flags, 0, payload);
}

std::string GoAway(uint32_t code, absl::string_view message) {
  wire::GoAway goaway;
  goaway.set_code(code);
  goaway.set_message(std::string(message));
  return Frame(kGoAway, 0, 0, goaway.SerializeAsString());
}

std::string InteropMethod(absl::string_view name) {
  return absl::StrCat(kInteropService, name);
}

std::string UnaryRequest(absl::string_view body, uint32_t reply_size,
                         uint32_t echo_code, absl::string_view echo_message) {
  UnknownFieldSet fields;
  if (!body.empty()) fields.AddLengthDelimited(1, std::string(body));
  if (reply_size != 0) fields.AddVarint(2, reply_size);
  if (echo_code != 0 || !echo_message.empty()) {
    UnknownFieldSet status;
    if (echo_code != 0) status.AddVarint(1, echo_code);
    if (!echo_message.empty())
      status.AddLengthDelimited(2, std::string(echo_message));
    fields.AddLengthDelimited(3, Serialize(status));
  }
  return Serialize(fields);
}

std::string DownloadRequest(const std::vector<uint32_t>& reply_sizes,
                            uint32_t pause_us) {
  UnknownFieldSet fields;
  for (uint32_t size : reply_sizes) fields.AddVarint(1, size);
  if (pause_us != 0) fields.AddVarint(2, pause_us);
  return Serialize(fields);
}

std::string UploadChunk(absl::string_view body) {
  UnknownFieldSet fields;
  if (!body.empty()) fields.AddLengthDelimited(1, std::string(body));
  return Serialize(fields);
}

std::string SleepRequest(uint32_t sleep_ms) {
  UnknownFieldSet fields;
  if (sleep_ms != 0) fields.AddVarint(1, sleep_ms);
  return Serialize(fields);
}

std::optional<uint64_t> VarintField(absl::string_view payload, int number) {
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return std::nullopt;
  std::optional<uint64_t> value;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.number() == number && field.type() == UnknownField::TYPE_VARINT)
      value = field.varint();
  }
  return value;
}

std::optional<std::string> BytesField(absl::string_view payload, int number) {
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return std::nullopt;
  std::optional<std::string> value;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.number() == number &&
        field.type() == UnknownField::TYPE_LENGTH_DELIMITED)
      value = field.length_delimited();
  }
  return value;
}

}  // namespace conformance
}  // namespace sockrpc
