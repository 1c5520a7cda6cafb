#include "transport/frame.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sockrpc {

using frame_internal::GetBigEndian32;
using frame_internal::IsCallFrame;
using frame_internal::IsConnectionFrame;
using frame_internal::PutBigEndian32;
void EncodePreface(char* out) {
  std::memcpy(out, kPrefaceMagic, kPrefaceMagicSize);
  out[kPrefaceMagicSize] = static_cast<char>(kProtocolVersion);
}

absl::Status CheckPreface(absl::string_view preface) {
  if (preface.size() != kPrefaceSize ||
      preface.substr(0, kPrefaceMagicSize) !=
          absl::string_view(kPrefaceMagic, kPrefaceMagicSize)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad connection preface: expected \"SOCKRPC\" + version byte, got ",
        absl::BytesToHexString(preface), " (\"", absl::CHexEscape(preface),
        "\"); the peer does not speak the sockrpc protocol"));
  }
  const auto version = static_cast<uint8_t>(preface[kPrefaceMagicSize]);
  if (version != kProtocolVersion) {
    return absl::FailedPreconditionError(
        absl::StrFormat("unsupported sockrpc protocol version %d; this side "
                        "speaks version %d",
                        version, kProtocolVersion));
  }
  return absl::OkStatus();
}

const char* FrameTypeName(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHeaders:
      return "HEADERS";
    case FrameType::kMessage:
      return "MESSAGE";
    case FrameType::kStatus:
      return "STATUS";
    case FrameType::kCancel:
      return "CANCEL";
    case FrameType::kWindowUpdate:
      return "WINDOW_UPDATE";
    case FrameType::kPing:
      return "PING";
    case FrameType::kGoAway:
      return "GOAWAY";
    case FrameType::kHalfClose:
      return "HALF_CLOSE";
    case FrameType::kSettings:
      return "SETTINGS";
    case FrameType::kFds:
      return "FDS";
  }
  return "UNKNOWN";
}

void EncodeWindowUpdate(uint32_t increment, char* out) {
  PutBigEndian32(increment, out);
}

bool DecodeWindowUpdate(absl::string_view payload, uint32_t* increment) {
  if (payload.size() != kWindowUpdateSize) return false;
  *increment = GetBigEndian32(payload.data());
  return true;
}

absl::StatusOr<FrameHeader> DecodeFrameHeader(const char* in) {
  FrameHeader header;
  if (DecodeWellFormedFrameHeader(in, &header)) return header;
  header.length = GetBigEndian32(in);
  header.stream_id = GetBigEndian32(in + 4);
  header.type = static_cast<uint8_t>(in[8]);
  header.flags = static_cast<uint8_t>(in[9]);
  if (in[10] != 0 || in[11] != 0) {
    return absl::InvalidArgumentError(
        "malformed frame header: reserved bytes 10-11 are not zero");
  }
  if (header.type == 0) {
    return absl::InvalidArgumentError("malformed frame header: type 0");
  }
  if (IsCallFrame(header.type) && header.stream_id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed frame header: ", FrameTypeName(header.type),
                     " frame on stream 0"));
  }
  if (IsConnectionFrame(header.type) && header.stream_id != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed frame header: ", FrameTypeName(header.type),
        " frame on stream ", header.stream_id, " (must be stream 0)"));
  }
  return header;
}

}  // namespace sockrpc
