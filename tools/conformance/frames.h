// Frame builders for the conformance checks: the bytes of any frame, valid
// or not, and the few protobuf payloads the checks send and read. Unlike
// the wire codec they let a check put anything in any field. Internal to
// tools/conformance.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_FRAMES_H_
#define SOCKRPC_TOOLS_CONFORMANCE_FRAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "sockrpc/wire.pb.h"
#include "transport/frame.h"

namespace sockrpc {
namespace conformance {

inline constexpr uint8_t kHeaders = 0x01;
inline constexpr uint8_t kMessage = 0x02;
inline constexpr uint8_t kStatus = 0x03;
inline constexpr uint8_t kCancel = 0x04;
inline constexpr uint8_t kWindowUpdate = 0x05;
inline constexpr uint8_t kPing = 0x06;
inline constexpr uint8_t kGoAway = 0x07;
inline constexpr uint8_t kHalfClose = 0x08;
// A type no version of the protocol uses: frames a peer must skip.
inline constexpr uint8_t kUnknownType = 0x42;

using Entries = std::vector<std::pair<std::string, std::string>>;

// The 8-byte preface, with `version` as its last byte.
std::string Preface(uint8_t version = kProtocolVersion);

// One frame: a 12-byte header with these fields and `payload`. The length
// field is the payload's size unless `length` overrides it.
std::string Frame(uint8_t type, uint8_t flags, uint32_t stream_id,
                  absl::string_view payload, uint16_t reserved = 0,
                  std::optional<uint32_t> length = std::nullopt);

// A client HEADERS: a CallHeader for `method`.
std::string Headers(uint32_t stream_id, absl::string_view method,
                    uint64_t timeout_micros = 0, const Entries& metadata = {},
                    uint8_t flags = 0);
// A MESSAGE carrying `payload`.
std::string Message(uint32_t stream_id, absl::string_view payload,
                    uint8_t flags = 0);
// HEADERS then MESSAGE with END_STREAM: a whole unary call.
std::string UnaryCall(uint32_t stream_id, absl::string_view method,
                      absl::string_view request, uint64_t timeout_micros = 0,
                      const Entries& metadata = {});
std::string HalfClose(uint32_t stream_id);
std::string Cancel(uint32_t stream_id, absl::string_view reason = "");
std::string WindowUpdate(uint32_t stream_id, uint32_t increment);
std::string Ping(absl::string_view payload, uint8_t flags = 0);
std::string GoAway(uint32_t code, absl::string_view message);

// The interop service's requests (tests/interop/interop.proto, described
// in docs/INTEROP.md), encoded by hand so that the tool needs no test code.
inline constexpr char kInteropService[] = "/sockrpc.interop.InteropTest/";
std::string InteropMethod(absl::string_view name);  // "/sockrpc...Test/NAME"
// UnaryRequest / DuplexRequest {body, reply_size, echo_status}.
std::string UnaryRequest(absl::string_view body, uint32_t reply_size,
                         uint32_t echo_code = 0,
                         absl::string_view echo_message = "");
// DownloadRequest {reply_sizes, pause_us}.
std::string DownloadRequest(const std::vector<uint32_t>& reply_sizes,
                            uint32_t pause_us = 0);
// UploadChunk {body}.
std::string UploadChunk(absl::string_view body);
// SleepRequest {sleep_ms}.
std::string SleepRequest(uint32_t sleep_ms);

// Reads field `number` of an encoded message: its varint value, or the
// bytes of a length-delimited field (the last occurrence). Nothing if the
// payload does not parse or lacks the field.
std::optional<uint64_t> VarintField(absl::string_view payload, int number);
std::optional<std::string> BytesField(absl::string_view payload, int number);

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_FRAMES_H_
