#include "transport/wire_codec.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace {

using google::protobuf::io::CodedOutputStream;

// Field keys (field number << 3 | wire type) of wire.proto's CallHeader and
// MetadataEntry: 0 is a varint, 2 a length-delimited field.
constexpr uint8_t kCallHeaderMethodKey = (1 << 3) | 2;
constexpr uint8_t kCallHeaderTimeoutKey = (2 << 3) | 0;
constexpr uint8_t kCallHeaderMetadataKey = (3 << 3) | 2;
constexpr uint8_t kMetadataEntryKeyKey = (1 << 3) | 2;
constexpr uint8_t kMetadataEntryValueKey = (2 << 3) | 2;

// Encoded size of a length-delimited field holding `size` bytes (proto3
// leaves out an empty string field), and of one MetadataEntry's fields.
size_t BytesFieldSize(size_t size) {
  return size == 0 ? 0 : 1 + CodedOutputStream::VarintSize64(size) + size;
}
size_t MetadataEntrySize(const std::pair<std::string, std::string>& entry) {
  return BytesFieldSize(entry.first.size()) +
         BytesFieldSize(entry.second.size());
}

uint8_t* WriteVarint(uint64_t value, uint8_t* out) {
  return CodedOutputStream::WriteVarint64ToArray(value, out);
}
uint8_t* WriteBytesField(uint8_t key, absl::string_view bytes, uint8_t* out) {
  if (bytes.empty()) return out;
  *out++ = key;
  out = WriteVarint(bytes.size(), out);
  std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// A CallHeader's method and timeout fields: their size, and their encoding.
size_t PlainCallHeaderSize(absl::string_view method, uint64_t timeout_micros) {
  size_t size = BytesFieldSize(method.size());
  if (timeout_micros != 0) {
    size += 1 + CodedOutputStream::VarintSize64(timeout_micros);
  }
  return size;
}
uint8_t* WritePlainCallHeader(absl::string_view method, uint64_t timeout_micros,
                              uint8_t* out) {
  out = WriteBytesField(kCallHeaderMethodKey, method, out);
  if (timeout_micros != 0) {
    *out++ = kCallHeaderTimeoutKey;
    out = WriteVarint(timeout_micros, out);
  }
  return out;
}

absl::Status FrameTooLarge(size_t size, uint32_t max_frame_size) {
  return absl::ResourceExhaustedError(
      absl::StrCat("message of ", size, " bytes exceeds the frame limit of ",
                   max_frame_size, " bytes"));
}

// Payloads up to this size are put together on the stack and appended in
// one copy: std::string::resize(), the other way, zero-fills what is then
// overwritten and costs more than the copy for a small frame.
constexpr size_t kStackFrameMax = 256;

// Writes a frame header for `payload_size` bytes; returns where the payload
// goes.
char* EncodeHeaderOfFrame(char* out, FrameType type, uint8_t flags,
                          uint32_t stream_id, size_t payload_size) {
  FrameHeader header;
  header.length = static_cast<uint32_t>(payload_size);
  header.stream_id = stream_id;
  header.type = static_cast<uint8_t>(type);
  header.flags = flags;
  EncodeFrameHeader(header, out);
  return out + kFrameHeaderSize;
}

// Appends a frame header plus `payload_size` bytes, which `write_payload`
// (a callable taking the char* to write them to) fills in.
template <typename WritePayload>
void AppendFrame(std::string* out, FrameType type, uint8_t flags,
                 uint32_t stream_id, size_t payload_size,
                 WritePayload write_payload) {
  if (payload_size <= kStackFrameMax) {
    char frame[kFrameHeaderSize + kStackFrameMax];
    write_payload(
        EncodeHeaderOfFrame(frame, type, flags, stream_id, payload_size));
    out->append(frame, kFrameHeaderSize + payload_size);
    return;
  }
  const size_t start = out->size();
  out->resize(start + kFrameHeaderSize + payload_size);
  write_payload(EncodeHeaderOfFrame(&(*out)[start], type, flags, stream_id,
                                    payload_size));
}

}  // namespace

absl::Status AppendMessageFrame(std::string* out, FrameType type,
                                uint8_t flags, uint32_t stream_id,
                                const google::protobuf::MessageLite& message,
                                uint32_t max_frame_size) {
  return AppendMessageFrameOfSize(out, type, flags, stream_id, message,
                                  message.ByteSizeLong(), max_frame_size);
}

absl::Status AppendMessageFrameOfSize(
    std::string* out, FrameType type, uint8_t flags, uint32_t stream_id,
    const google::protobuf::MessageLite& message, size_t size,
    uint32_t max_frame_size) {
  if (size > max_frame_size) return FrameTooLarge(size, max_frame_size);
  AppendFrame(out, type, flags, stream_id, size, [&](char* payload) {
    message.SerializeWithCachedSizesToArray(
        reinterpret_cast<uint8_t*>(payload));
  });
  return absl::OkStatus();
}

char* EncodeMessageFrameOfSize(char* out, FrameType type, uint8_t flags,
                               uint32_t stream_id,
                               const google::protobuf::MessageLite& message,
                               size_t size) {
  out = EncodeHeaderOfFrame(out, type, flags, stream_id, size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out));
  return out + size;
}

size_t PlainCallHeaderFrameSize(absl::string_view method,
                                uint64_t timeout_micros) {
  return kFrameHeaderSize + PlainCallHeaderSize(method, timeout_micros);
}

char* EncodePlainCallHeaderFrame(char* out, uint8_t flags, uint32_t stream_id,
                                 absl::string_view method,
                                 uint64_t timeout_micros) {
  out = EncodeHeaderOfFrame(out, FrameType::kHeaders, flags, stream_id,
                            PlainCallHeaderSize(method, timeout_micros));
  return reinterpret_cast<char*>(WritePlainCallHeader(
      method, timeout_micros, reinterpret_cast<uint8_t*>(out)));
}

absl::Status AppendCallHeaderFrame(std::string* out, uint8_t flags,
                                   uint32_t stream_id,
                                   absl::string_view method,
                                   uint64_t timeout_micros,
                                   const Metadata& metadata,
                                   uint32_t max_frame_size) {
  size_t size = PlainCallHeaderSize(method, timeout_micros);
  for (const auto& entry : metadata) {
    const size_t entry_size = MetadataEntrySize(entry);
    size += 1 + CodedOutputStream::VarintSize64(entry_size) + entry_size;
  }
  if (size > max_frame_size) return FrameTooLarge(size, max_frame_size);
  AppendFrame(
      out, FrameType::kHeaders, flags, stream_id, size, [&](char* payload) {
        uint8_t* p = WritePlainCallHeader(method, timeout_micros,
                                          reinterpret_cast<uint8_t*>(payload));
        for (const auto& entry : metadata) {
          *p++ = kCallHeaderMetadataKey;
          p = WriteVarint(MetadataEntrySize(entry), p);
          p = WriteBytesField(kMetadataEntryKeyKey, entry.first, p);
          p = WriteBytesField(kMetadataEntryValueKey, entry.second, p);
        }
      });
  return absl::OkStatus();
}

char* EncodeOkStatusFrame(char* out, uint32_t stream_id) {
  return EncodeHeaderOfFrame(out, FrameType::kStatus, 0, stream_id, 0);
}

void AppendRawFrame(std::string* out, FrameType type, uint8_t flags,
                    uint32_t stream_id, absl::string_view payload) {
  AppendFrame(out, type, flags, stream_id, payload.size(), [&](char* dest) {
    if (!payload.empty()) std::memcpy(dest, payload.data(), payload.size());
  });
}

void AppendWindowUpdateFrame(std::string* out, uint32_t stream_id,
                             uint32_t increment) {
  char payload[kWindowUpdateSize];
  EncodeWindowUpdate(increment, payload);
  AppendRawFrame(out, FrameType::kWindowUpdate, 0, stream_id,
                 absl::string_view(payload, sizeof(payload)));
}

void AppendFdsFrame(std::string* out, uint32_t stream_id, size_t count) {
  wire::FdsHeader header;
  header.set_count(static_cast<uint32_t>(count));
  (void)AppendMessageFrame(out, FrameType::kFds, 0, stream_id, header,
                           kDefaultMaxFrameSize);
}

absl::Status AppendStatusFrame(std::string* out, uint32_t stream_id,
                               const absl::Status& status,
                               const Metadata& trailers,
                               uint32_t max_frame_size) {
  if (status.ok() && trailers.empty()) {
    AppendRawFrame(out, FrameType::kStatus, 0, stream_id, "");
    return status;
  }
  wire::CallStatus call_status;
  StatusToWire(status, &call_status);
  MetadataToWire(trailers, call_status.mutable_metadata());
  if (AppendMessageFrame(out, FrameType::kStatus, 0, stream_id, call_status,
                         max_frame_size)
          .ok()) {
    return status;
  }
  absl::Status too_large = absl::ResourceExhaustedError(
      trailers.empty() ? "status message too large for a frame"
                       : "trailing metadata too large");
  call_status.Clear();
  StatusToWire(too_large, &call_status);
  (void)AppendMessageFrame(out, FrameType::kStatus, 0, stream_id, call_status,
                           kDefaultMaxFrameSize);
  return too_large;
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

namespace {

// Reads a base-128 varint (at most 10 bytes) at *pos; false if cut short
// or too long.
bool ReadVarint(absl::string_view bytes, size_t* pos, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70 && *pos < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[(*pos)++]);
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80u) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

}  // namespace

bool DecodePlainCallHeader(absl::string_view payload, absl::string_view* method,
                           uint64_t* timeout_micros) {
  // Tags of CallHeader's first two fields: (number << 3) | wire type.
  constexpr uint64_t kMethodTag = (1 << 3) | 2;   // length-delimited
  constexpr uint64_t kTimeoutTag = (2 << 3) | 0;  // varint
  absl::string_view found_method;
  uint64_t found_timeout = 0;
  size_t pos = 0;
  while (pos < payload.size()) {
    uint64_t tag;
    if (!ReadVarint(payload, &pos, &tag)) return false;
    if (tag == kMethodTag) {
      uint64_t length;
      if (!ReadVarint(payload, &pos, &length) ||
          length > payload.size() - pos) {
        return false;
      }
      found_method = payload.substr(pos, static_cast<size_t>(length));
      pos += static_cast<size_t>(length);
    } else if (tag == kTimeoutTag) {
      if (!ReadVarint(payload, &pos, &found_timeout)) return false;
    } else {
      return false;  // metadata or a field we do not read here
    }
  }
  *method = found_method;  // as protobuf: the last occurrence wins
  *timeout_micros = found_timeout;
  return true;
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
