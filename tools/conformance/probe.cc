#include "tools/conformance/probe.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sockrpc/wire.pb.h"

namespace sockrpc {
namespace conformance {
namespace {

Entries EntriesOf(
    const google::protobuf::RepeatedPtrField<wire::MetadataEntry>& entries) {
  Entries out;
  for (const wire::MetadataEntry& entry : entries) {
    out.emplace_back(entry.key(), entry.value());
  }
  return out;
}

std::string PingPayload(uint64_t value) {
  std::string payload(8, '\0');
  for (int i = 0; i < 8; ++i) {
    payload[i] = static_cast<char>(value >> (56 - 8 * i));
  }
  return payload;
}

}  // namespace

std::string CodeName(uint32_t code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < sizeof kNames / sizeof kNames[0]) {
    return absl::StrCat(code, " ", kNames[code]);
  }
  return absl::StrCat(code);
}

std::string CallReply::Describe() const {
  std::vector<std::string> parts;
  for (const RawFrame& frame : frames) {
    if (frame.type == kStatus) {
      parts.push_back(absl::StrCat("STATUS ", CodeName(code),
                                   message.empty() ? "" : " \"", message,
                                   message.empty() ? "" : "\""));
    } else {
      parts.push_back(frame.Describe());
    }
  }
  return absl::StrJoin(parts, ", ");
}

Probe::Probe(const CheckConfig& config)
    : config_(config), check_deadline_(absl::Now() + 4 * config.timeout) {}

Outcome Probe::Fail(absl::string_view expected, absl::string_view got) {
  if (outcome_.verdict != Verdict::kFail) {
    outcome_.verdict = Verdict::kFail;
    outcome_.expected = std::string(expected);
    outcome_.got = std::string(got);
    if (peer_ != nullptr) outcome_.received = peer_->received();
  }
  return outcome_;
}

std::string Probe::ReadFailure(const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status)) {
    return absl::StrCat("nothing (", status.message(), ")");
  }
  if (absl::IsOutOfRange(status)) {
    return absl::StrCat("the server ", status.message());
  }
  return std::string(status.message());
}

bool Probe::Connect() {
  absl::StatusOr<std::unique_ptr<WirePeer>> peer =
      WirePeer::Connect(config_.address, Deadline());
  if (!peer.ok()) {
    Fail("a connection", peer.status().message());
    return false;
  }
  peer_ = *std::move(peer);
  return true;
}

bool Probe::Handshake() {
  if (!Connect() || !Send(Preface())) return false;
  absl::StatusOr<std::string> preface =
      peer_->ReadExactly(kPrefaceSize, Deadline());
  const std::string expected =
      absl::StrCat("the server's preface ", Hex(Preface()));
  if (!preface.ok()) {
    Fail(expected, ReadFailure(preface.status()));
    return false;
  }
  if (*preface != Preface()) {
    Fail(expected, Hex(*preface));
    return false;
  }
  return true;
}

bool Probe::Send(absl::string_view bytes) {
  if (failed()) return false;
  absl::Status sent = peer_->Send(bytes, Deadline());
  if (!sent.ok()) {
    Fail("the server to read what the check sends",
         absl::StrCat("the send failed: ", sent.message()));
    return false;
  }
  return true;
}

std::optional<RawFrame> Probe::Next(absl::string_view waiting_for) {
  std::optional<RawFrame> frame = NextOrEnd(waiting_for);
  if (!frame && !failed()) Fail(waiting_for, end_);
  return frame;
}

bool Probe::IsBackground(const RawFrame& frame) {
  return (!IsKnownFrameType(frame.type) && frame.type != 0) ||
         (frame.type == kWindowUpdate && frame.stream_id == 0) ||
         (frame.type == kPing && (frame.flags & kFlagAck) == 0 &&
          frame.stream_id == 0);
}

std::optional<RawFrame> Probe::NextOrEnd(absl::string_view waiting_for) {
  if (failed()) return std::nullopt;
  for (;;) {
    if (!held_.empty()) {
      RawFrame frame = std::move(held_.front());
      held_.erase(held_.begin());
      return frame;
    }
    absl::StatusOr<RawFrame> frame = peer_->ReadFrame(Deadline());
    if (absl::IsOutOfRange(frame.status()) ||
        absl::IsUnavailable(frame.status())) {
      end_ = ReadFailure(frame.status());
      return std::nullopt;  // closed (or reset)
    }
    if (!frame.ok()) {
      Fail(waiting_for, ReadFailure(frame.status()));
      return std::nullopt;
    }
    // What any server may send at any time, and a check never waits for:
    // frames of unknown types, WINDOW_UPDATE on stream 0 (sections 10 and
    // 4.10), and PINGs of its own, which are answered (section 4.9).
    if (!IsBackground(*frame)) return *std::move(frame);
    if (frame->type == kPing && !Send(Ping(frame->payload, kFlagAck))) {
      return std::nullopt;
    }
  }
}

bool Probe::ReadCall(uint32_t stream_id, CallReply* reply) {
  const std::string waiting_for =
      absl::StrCat("the STATUS of stream ", stream_id);
  std::vector<RawFrame> others;
  bool done = false;
  while (!done) {
    std::optional<RawFrame> frame = Next(waiting_for);
    if (!frame) return false;
    if (frame->stream_id != stream_id) {
      if (frame->type == kGoAway) {
        Fail(waiting_for, absl::StrCat("a GOAWAY first: ", frame->Describe()));
        return false;
      }
      others.push_back(*std::move(frame));
      continue;
    }
    const std::string what = frame->Describe();
    if (frame->reserved != 0) {
      Fail("reserved bytes 00 00 (section 4.1)", what);
      return false;
    }
    if (frame->type == kHeaders || frame->type == kMessage) {
      if ((frame->flags & kFlagEndStream) != 0) {
        Fail("no END_STREAM on a server's frame (section 4.3)", what);
        return false;
      }
    }
    if (frame->type == kHeaders) {
      if (reply->initial || !reply->messages.empty()) {
        Fail("at most one server HEADERS, before any MESSAGE (section 4.4)",
             absl::StrCat(reply->Describe(), ", then ", what));
        return false;
      }
      wire::ResponseHeader header;
      header.ParseFromString(frame->payload);
      reply->initial = EntriesOf(header.metadata());
    } else if (frame->type == kMessage) {
      reply->messages.push_back(frame->payload);
    } else if (frame->type == kStatus) {
      wire::CallStatus status;
      if (!status.ParseFromString(frame->payload)) {
        Fail("a STATUS payload that parses as CallStatus (section 5)",
             Hex(frame->payload));
        return false;
      }
      reply->code = status.code();
      reply->message = status.message();
      reply->trailing = EntriesOf(status.metadata());
      done = true;
    } else if (frame->type != kWindowUpdate) {
      Fail(
          "only HEADERS, MESSAGE, WINDOW_UPDATE and STATUS from a server "
          "on a call's stream (section 4.2)",
          what);
      return false;
    }
    reply->frames.push_back(*std::move(frame));
  }
  for (RawFrame& other : others) held_.push_back(std::move(other));
  return true;
}

bool Probe::ExpectStatus(uint32_t stream_id, uint32_t code,
                         absl::string_view message_part, CallReply* reply) {
  CallReply local;
  if (reply == nullptr) reply = &local;
  if (!ReadCall(stream_id, reply)) return false;
  if (reply->code != code || !absl::StrContains(reply->message, message_part) ||
      (code != 0 && !reply->messages.empty())) {
    Fail(absl::StrCat(code != 0 ? "no MESSAGE, " : "", "STATUS ",
                      CodeName(code), " on stream ", stream_id,
                      message_part.empty() ? "" : " with \"", message_part,
                      message_part.empty() ? "" : "\""),
         reply->Describe());
    return false;
  }
  return true;
}

bool Probe::PingBarrier(std::vector<RawFrame>* before) {
  const std::string payload = PingPayload(next_ping_++);
  if (!Send(Ping(payload))) return false;
  const std::string waiting_for =
      absl::StrCat("a PING ACK carrying ", Hex(payload), " (section 4.9)");
  for (;;) {
    std::optional<RawFrame> frame = Next(waiting_for);
    if (!frame) return false;
    if (frame->type == kPing && (frame->flags & kFlagAck) != 0 &&
        frame->payload == payload) {
      if (frame->stream_id != 0) {
        Fail("the PING ACK on stream 0", frame->Describe());
        return false;
      }
      return true;
    }
    if (frame->type == kGoAway) {
      wire::GoAway goaway;
      goaway.ParseFromString(frame->payload);
      Fail(waiting_for, absl::StrCat("GOAWAY ", CodeName(goaway.code()), " \"",
                                     goaway.message(), "\""));
      return false;
    }
    if (before != nullptr) before->push_back(*std::move(frame));
  }
}

bool Probe::ExpectGoAwayAndClose(uint32_t code, absl::string_view message_part,
                                 std::optional<uint32_t> last_stream_id,
                                 bool skip_call_frames) {
  std::string expected =
      absl::StrCat("GOAWAY ", CodeName(code), " with \"", message_part, "\"");
  if (last_stream_id) {
    absl::StrAppend(&expected, " and last_stream_id ", *last_stream_id);
  }
  absl::StrAppend(&expected, ", then the connection closed");
  std::optional<RawFrame> frame;
  for (;;) {
    frame = Next(expected);
    if (!frame) return false;
    if (frame->type == kGoAway) break;
    if (!skip_call_frames || frame->stream_id == 0) {
      Fail(expected, frame->Describe());
      return false;
    }
  }
  wire::GoAway goaway;
  if (frame->stream_id != 0 || !goaway.ParseFromString(frame->payload)) {
    Fail(expected, absl::StrCat(frame->Describe(), ": ", Hex(frame->payload)));
    return false;
  }
  const std::string got =
      absl::StrCat("GOAWAY ", CodeName(goaway.code()), " \"", goaway.message(),
                   "\" last_stream_id ", goaway.last_stream_id());
  if (goaway.code() != code ||
      !absl::StrContains(goaway.message(), message_part) ||
      (last_stream_id && goaway.last_stream_id() != *last_stream_id)) {
    Fail(expected, got);
    return false;
  }
  absl::Status closed = peer_->WaitForClose(Deadline());
  if (!closed.ok()) {
    Fail(expected, absl::StrCat(got, ", and the connection stayed open"));
    return false;
  }
  return true;
}

}  // namespace conformance
}  // namespace sockrpc
