// Sections 4 (frames), 8.1 (malformed frames) and 10 (what must be
// skipped): frame by frame, on connections that carry no call unless the
// rule is about one.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/conformance/check.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace conformance {
namespace {

constexpr char kPingPayload[] = "sockrpc!";

// Sends `bytes` after the handshake and expects the connection error of
// section 8.1: GOAWAY 13 INTERNAL naming the highest stream seen, a close.
Outcome ExpectConnectionError(const CheckConfig& config,
                              absl::string_view bytes,
                              uint32_t last_stream_id = 0) {
  Probe probe(config);
  if (!probe.Handshake() || !probe.Send(bytes)) return probe.outcome();
  probe.ExpectGoAwayAndClose(13, "", last_stream_id);
  return probe.outcome();
}

// Sends `bytes` after the handshake, then a PING: the server must answer
// the PING and send nothing before its ACK.
Outcome ExpectIgnored(const CheckConfig& config, absl::string_view bytes) {
  Probe probe(config);
  if (!probe.Handshake() || !probe.Send(bytes)) return probe.outcome();
  std::vector<RawFrame> before;
  if (!probe.PingBarrier(&before)) return probe.outcome();
  if (!before.empty()) {
    return probe.Fail("nothing but the PING ACK: the frames are ignored",
                      before.front().Describe());
  }
  return probe.outcome();
}

Outcome PingIsAnswered(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake() || !probe.Send(Ping(kPingPayload)))
    return probe.outcome();
  const std::string expected = absl::StrCat(
      "PING stream 0 flags 0x01 (ACK) carrying ", Hex(kPingPayload));
  std::optional<RawFrame> frame = probe.Next(expected);
  if (!frame) return probe.outcome();
  if (frame->type != kPing || frame->stream_id != 0 ||
      (frame->flags & kFlagAck) == 0 || frame->payload != kPingPayload) {
    return probe.Fail(
        expected, absl::StrCat(frame->Describe(), ": ", Hex(frame->payload)));
  }
  return probe.outcome();
}

Outcome PingAckIsNotAnswered(const CheckConfig& config) {
  return ExpectIgnored(config, Ping(kPingPayload, kFlagAck));
}

Outcome UnknownFlagsOnPingAreIgnored(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake() || !probe.Send(Ping(kPingPayload, 0xfe)))
    return probe.outcome();
  const std::string expected = absl::StrCat(
      "PING ACK carrying ", Hex(kPingPayload), " (flag bits 0xfe ignored)");
  std::optional<RawFrame> frame = probe.Next(expected);
  if (!frame) return probe.outcome();
  if (frame->type != kPing || (frame->flags & kFlagAck) == 0 ||
      frame->payload != kPingPayload) {
    return probe.Fail(expected, frame->Describe());
  }
  return probe.outcome();
}

Outcome UnknownFlagsOnACallAreIgnored(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method, 0, {}, 0xf0) +
             Message(1, config.request, kFlagEndStream | 0xf0));
  CallReply reply;
  if (!probe.ReadCall(1, &reply)) return probe.outcome();
  if (reply.code != 0 || reply.messages.size() != 1) {
    return probe.Fail("one MESSAGE, then STATUS 0", reply.Describe());
  }
  return probe.outcome();
}

Outcome ClientGoAwayClosesTheConnection(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake() || !probe.Send(GoAway(0, "conformance: leaving")))
    return probe.outcome();
  absl::Status closed = probe.peer().WaitForClose(probe.Deadline());
  if (!closed.ok()) {
    return probe.Fail("the server closes the connection (section 4.8)",
                      "the connection stayed open");
  }
  return probe.outcome();
}

std::string EightBytes() { return std::string(kPingPayload, 8); }

Outcome ReservedBytes(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(kPing, 0, 0, EightBytes(), 1));
}
Outcome TypeZero(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(0, 0, 1, ""));
}
Outcome MessageOnStreamZero(const CheckConfig& config) {
  return ExpectConnectionError(config, Message(0, ""));
}
Outcome HalfCloseOnStreamZero(const CheckConfig& config) {
  return ExpectConnectionError(config, HalfClose(0));
}
Outcome PingOnAStream(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(kPing, 0, 3, EightBytes()));
}
Outcome GoAwayOnAStream(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(kGoAway, 0, 3, ""));
}
Outcome HeadersThatDoNotParse(const CheckConfig& config) {
  // Stream 1's HEADERS was received, if not understood: it is the last.
  return ExpectConnectionError(config, Frame(kHeaders, 0, 1, "\x0a\x05"), 1);
}
Outcome StatusFromTheClient(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(kStatus, 0, 1, ""));
}
Outcome ShortWindowUpdate(const CheckConfig& config) {
  return ExpectConnectionError(config, Frame(kWindowUpdate, 0, 0, "abc"));
}

Outcome StreamIdMustRise(const CheckConfig& config, uint32_t second_id) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(5, config.method, config.request));
  CallReply reply;
  if (!probe.ReadCall(5, &reply)) return probe.outcome();
  probe.Send(UnaryCall(second_id, config.method, config.request));
  probe.ExpectGoAwayAndClose(13, "", 5);
  return probe.outcome();
}
Outcome LowerStreamId(const CheckConfig& config) {
  return StreamIdMustRise(config, 3);
}
Outcome ReusedStreamId(const CheckConfig& config) {
  return StreamIdMustRise(config, 5);
}

Outcome UnknownTypeIsSkipped(const CheckConfig& config) {
  return ExpectIgnored(
      config, Frame(kUnknownType, 0xff, 0, "an extension frame") +
                  Frame(kUnknownType, 0, 9, "on a stream never opened") +
                  Frame(0xff, 0, 0, ""));
}

Outcome OversizedUnknownTypeIsSkipped(const CheckConfig& config) {
  return ExpectIgnored(
      config,
      Frame(kUnknownType, 0, 0, std::string(config.max_frame_size + 1, 'x')));
}

Outcome OversizedUnknownTypeOnACallEndsNothing(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(
      Headers(1, config.method) +
      Frame(kUnknownType, 0, 1, std::string(config.max_frame_size + 1, 'x')) +
      Message(1, config.request, kFlagEndStream));
  CallReply reply;
  if (!probe.ReadCall(1, &reply)) return probe.outcome();
  if (reply.code != 0) {
    return probe.Fail("STATUS 0: the unknown frame ends no call (section 10)",
                      reply.Describe());
  }
  return probe.outcome();
}

Outcome WindowUpdateOnStreamZeroIsIgnored(const CheckConfig& config) {
  return ExpectIgnored(config, WindowUpdate(0, 1000));
}

Outcome FramesForUnknownStreamsAreIgnored(const CheckConfig& config) {
  return ExpectIgnored(config, Message(99, "never opened") + Cancel(77) +
                                   WindowUpdate(55, 4096) + HalfClose(33));
}

}  // namespace

std::vector<Check> FrameChecks() {
  return {
      {"4.3/1", "unknown flag bits on a PING are ignored", Needs::kNothing,
       UnknownFlagsOnPingAreIgnored},
      {"4.3/2", "unknown flag bits on HEADERS and MESSAGE are ignored",
       Needs::kUnaryMethod, UnknownFlagsOnACallAreIgnored},
      {"4.8/1", "a GOAWAY from the client makes the server close at once",
       Needs::kNothing, ClientGoAwayClosesTheConnection},
      {"4.9/1", "a PING is answered with a PING ACK carrying the same bytes",
       Needs::kNothing, PingIsAnswered},
      {"4.9/2", "a PING with ACK set is not answered", Needs::kNothing,
       PingAckIsNotAnswered},
      {"4.10/1", "a WINDOW_UPDATE on stream 0 is read and ignored",
       Needs::kNothing, WindowUpdateOnStreamZeroIsIgnored},
      {"6.1/1",
       "MESSAGE, CANCEL, WINDOW_UPDATE and HALF_CLOSE for streams never "
       "opened are ignored",
       Needs::kNothing, FramesForUnknownStreamsAreIgnored},
      {"8.1/1", "non-zero reserved bytes are a connection error (GOAWAY 13)",
       Needs::kNothing, ReservedBytes},
      {"8.1/2", "frame type 0 is a connection error", Needs::kNothing,
       TypeZero},
      {"8.1/3", "a MESSAGE on stream 0 is a connection error", Needs::kNothing,
       MessageOnStreamZero},
      {"8.1/4", "a HALF_CLOSE on stream 0 is a connection error",
       Needs::kNothing, HalfCloseOnStreamZero},
      {"8.1/5", "a PING on stream 3 is a connection error", Needs::kNothing,
       PingOnAStream},
      {"8.1/6", "a GOAWAY on stream 3 is a connection error", Needs::kNothing,
       GoAwayOnAStream},
      {"8.1/7",
       "a HEADERS whose stream id is below the last one is a connection "
       "error naming the last stream",
       Needs::kUnaryMethod, LowerStreamId},
      {"8.1/8", "a HEADERS reusing a stream id is a connection error",
       Needs::kUnaryMethod, ReusedStreamId},
      {"8.1/9", "a HEADERS whose payload does not parse is a connection error",
       Needs::kNothing, HeadersThatDoNotParse},
      {"8.1/10", "a STATUS from the client is a connection error",
       Needs::kNothing, StatusFromTheClient},
      {"8.1/11",
       "a WINDOW_UPDATE whose payload is not 4 bytes is a connection error",
       Needs::kNothing, ShortWindowUpdate},
      {"10/1", "frames of unknown types are skipped, on any stream",
       Needs::kNothing, UnknownTypeIsSkipped},
      {"10/2", "a frame of unknown type over the size limit is skipped",
       Needs::kNothing, OversizedUnknownTypeIsSkipped},
      {"10/3",
       "a frame of unknown type over the size limit on an open call's stream "
       "ends no call",
       Needs::kUnaryMethod, OversizedUnknownTypeOnACallEndsNothing},
  };
}

}  // namespace conformance
}  // namespace sockrpc
