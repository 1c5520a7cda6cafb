// Sections 6.6 (deadlines), 6.7 (metadata), 6.8 (flow control) and 8.2
// (the frame-size limit).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/conformance/check.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace conformance {
namespace {

constexpr int64_t kWindow = kInitialWindowSize;

Outcome DeadlineWhileWaitingForTheRequest(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method, /*timeout_micros=*/200000));
  probe.ExpectStatus(1, 4, "deadline exceeded");
  return probe.outcome();
}

Outcome DeadlineWhileTheHandlerRuns(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  const absl::Time start = absl::Now();
  probe.Send(UnaryCall(1, InteropMethod("SleepCall"), SleepRequest(3000),
                       /*timeout_micros=*/200000));
  if (!probe.ExpectStatus(1, 4, "deadline exceeded")) return probe.outcome();
  const absl::Duration took = absl::Now() - start;
  if (took > absl::Milliseconds(1500)) {
    return probe.Fail(
        "STATUS 4 when the 200 ms deadline passes, whatever the handler does",
        absl::StrCat("STATUS 4 after ", absl::FormatDuration(took),
                     " (the handler sleeps 3 s)"));
  }
  return probe.outcome();
}

// A unary call with request metadata `entries`: STATUS `code`, and then
// (the connection still usable) a plain call succeeds.
Outcome CallWithMetadata(const CheckConfig& config, const Entries& entries,
                         uint32_t code, absl::string_view message_part) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, config.method, config.request, 0, entries));
  if (!probe.ExpectStatus(1, code, message_part)) return probe.outcome();
  probe.Send(UnaryCall(3, config.method, config.request));
  probe.ExpectStatus(3, 0, "");
  return probe.outcome();
}

Outcome UpperCaseKey(const CheckConfig& config) {
  return CallWithMetadata(config, {{"X-Upper", "v"}}, 3, "");
}

Outcome UnprintableValue(const CheckConfig& config) {
  return CallWithMetadata(config, {{"x-text", std::string("a\x01z", 3)}}, 3,
                          "");
}

Outcome BinaryValueAndRepeatedKeys(const CheckConfig& config) {
  return CallWithMetadata(config,
                          {{"x-data-bin", std::string("\x00\xff\x0a", 3)},
                           {"x-twice", "1"},
                           {"x-twice", "2"}},
                          0, "");
}

Outcome MetadataOverTheLimit(const CheckConfig& config) {
  const std::string key = "x-big";
  return CallWithMetadata(
      config,
      {{key, std::string(config.max_metadata_size - key.size() + 1, 'm')}}, 8,
      "exceeds the limit");
}

Outcome MetadataAtTheLimit(const CheckConfig& config) {
  const std::string key = "x-big";
  return CallWithMetadata(
      config, {{key, std::string(config.max_metadata_size - key.size(), 'm')}},
      0, "");
}

Outcome MetadataIsEchoed(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  const std::string trailing("\x0a\x0b\x00\xff", 4);
  probe.Send(UnaryCall(1, InteropMethod("UnaryCall"), UnaryRequest("", 3), 0,
                       {{"x-sockrpc-test-echo-initial", "first"},
                        {"x-sockrpc-test-echo-trailing-bin", trailing}}));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  bool initial = false;
  bool trailer = false;
  for (const auto& [key, value] : reply.initial.value_or(Entries{})) {
    initial |= key == "x-sockrpc-test-echo-initial" && value == "first";
  }
  for (const auto& [key, value] : reply.trailing) {
    trailer |= key == "x-sockrpc-test-echo-trailing-bin" && value == trailing;
  }
  if (!initial || !trailer || reply.frames.front().type != kHeaders) {
    return probe.Fail(
        "HEADERS with the initial entry first, MESSAGE, STATUS 0 with the "
        "trailing -bin entry (docs/INTEROP.md)",
        reply.Describe());
  }
  return probe.outcome();
}

Outcome ServerRespectsTheWindow(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  const std::vector<uint32_t> sizes(8, 16384);
  probe.Send(UnaryCall(1, InteropMethod("StreamingOutputCall"),
                       DownloadRequest(sizes)));
  // Read what comes without any WINDOW_UPDATE from us, until it goes quiet.
  int64_t sent = 0;
  size_t messages = 0;
  for (;;) {
    // The first reply may take the whole timeout; then 300 ms of quiet.
    absl::StatusOr<RawFrame> frame = probe.peer().ReadFrame(
        messages == 0 ? probe.Deadline()
                      : absl::Now() + absl::Milliseconds(300));
    if (absl::IsDeadlineExceeded(frame.status())) break;
    if (!frame.ok()) {
      return probe.Fail("MESSAGEs on stream 1 up to its window",
                        frame.status().message());
    }
    if (Probe::IsBackground(*frame)) continue;
    if (frame->stream_id != 1 || frame->type != kMessage) {
      if (frame->type == kStatus) {
        return probe.Fail(
            "the server to wait for window before the rest (section 6.8)",
            absl::StrCat("STATUS after ", messages, " MESSAGEs, ", sent,
                         " payload bytes"));
      }
      continue;
    }
    if (sent >= kWindow) {
      return probe.Fail(
          "no MESSAGE once 65536 payload bytes are sent without a "
          "WINDOW_UPDATE (section 6.8)",
          absl::StrCat("MESSAGE ", messages + 1, " after ", sent,
                       " payload bytes"));
    }
    sent += frame->length;
    ++messages;
  }
  if (messages == 0) {
    return probe.Fail("MESSAGEs on stream 1 up to its window", "none");
  }
  probe.Send(WindowUpdate(1, 1u << 20));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (messages + reply.messages.size() != sizes.size()) {
    return probe.Fail(absl::StrCat("the other ", sizes.size() - messages,
                                   " MESSAGEs after the WINDOW_UPDATE"),
                      reply.Describe());
  }
  return probe.outcome();
}

Outcome ServerReturnsWindow(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, InteropMethod("StreamingInputCall")));
  const std::string chunk = Message(1, UploadChunk(std::string(8192, 'w')));
  const int64_t payload = static_cast<int64_t>(chunk.size() - kFrameHeaderSize);
  const int kChunks = 32;  // 256 KiB: four windows
  int64_t window = kWindow;
  for (int i = 0; i < kChunks; ++i) {
    while (window <= 0) {
      std::optional<RawFrame> frame = probe.Next(
          "a WINDOW_UPDATE on stream 1 as the handler reads (section 6.8)");
      if (!frame) return probe.outcome();
      if (frame->type != kWindowUpdate || frame->stream_id != 1) {
        return probe.Fail("a WINDOW_UPDATE on stream 1", frame->Describe());
      }
      uint32_t increment = 0;
      if (!DecodeWindowUpdate(frame->payload, &increment)) {
        return probe.Fail("a 4-byte WINDOW_UPDATE", frame->Describe());
      }
      window += increment;
    }
    if (!probe.Send(chunk)) return probe.outcome();
    window -= payload;
  }
  probe.Send(HalfClose(1));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1 ||
      VarintField(reply.messages[0], 1).value_or(0) != 8192u * kChunks) {
    return probe.Fail("an UploadSummary of 262144 bytes", reply.Describe());
  }
  return probe.outcome();
}

Outcome LargeMessagesGoOutAlone(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, InteropMethod("StreamingOutputCall"),
                       DownloadRequest({100000})));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1) {
    return probe.Fail(
        "one MESSAGE of 100000 bytes, larger than the window, then STATUS 0",
        reply.Describe());
  }
  probe.Send(Headers(3, InteropMethod("StreamingInputCall")) +
             Message(3, UploadChunk(std::string(100000, 'u'))) + HalfClose(3));
  if (!probe.ExpectStatus(3, 0, "", &reply)) return probe.outcome();
  return probe.outcome();
}

Outcome MessageOverTheLimit(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(
      Headers(1, config.method) +
      Message(1, std::string(config.max_frame_size + 1, 'x'), kFlagEndStream));
  if (!probe.ExpectStatus(1, 8, "exceeds the limit")) return probe.outcome();
  probe.Send(UnaryCall(3, config.method, config.request));
  probe.ExpectStatus(3, 0, "");
  return probe.outcome();
}

Outcome HeadersOverTheLimit(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(
      Frame(kHeaders, 0, 1, std::string(config.max_frame_size + 1, 'x')));
  if (!probe.ExpectStatus(1, 8, "exceeds the limit")) return probe.outcome();
  probe.Send(UnaryCall(3, config.method, config.request));
  probe.ExpectStatus(3, 0, "");
  return probe.outcome();
}

Outcome FrameAtTheLimit(const CheckConfig& config) {
  // A UnaryRequest whose encoding is exactly the limit: tag, length, body.
  const auto varint_size = [](size_t value) {
    size_t size = 1;
    while (value >= 0x80) {
      value >>= 7;
      ++size;
    }
    return size;
  };
  size_t body = config.max_frame_size;
  while (body > 0 && 1 + varint_size(body) + body > config.max_frame_size) {
    --body;
  }
  const std::string request = UnaryRequest(std::string(body, 'b'), 0);
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, InteropMethod("UnaryCall"), request));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (request.size() != config.max_frame_size || reply.messages.size() != 1 ||
      VarintField(reply.messages[0], 2).value_or(0) != body) {
    return probe.Fail(absl::StrCat("a reply counting the ", body,
                                   "-byte body of a request of exactly ",
                                   config.max_frame_size, " bytes"),
                      reply.Describe());
  }
  return probe.outcome();
}

}  // namespace

std::vector<Check> LimitChecks() {
  return {
      {"6.6/1",
       "a call whose deadline passes while it waits for its request gets "
       "STATUS 4",
       Needs::kUnaryMethod, DeadlineWhileWaitingForTheRequest},
      {"6.6/2",
       "a call whose deadline passes while its handler runs gets STATUS 4 at "
       "the deadline",
       Needs::kInterop, DeadlineWhileTheHandlerRuns},
      {"6.7/1", "a metadata key with an upper-case letter gets STATUS 3",
       Needs::kUnaryMethod, UpperCaseKey},
      {"6.7/2", "a non-printable value for a key without -bin gets STATUS 3",
       Needs::kUnaryMethod, UnprintableValue},
      {"6.7/3", "-bin keys take any bytes, and keys may repeat",
       Needs::kUnaryMethod, BinaryValueAndRepeatedKeys},
      {"6.7/4", "request metadata one byte over the limit gets STATUS 8",
       Needs::kUnaryMethod, MetadataOverTheLimit},
      {"6.7/5", "request metadata of exactly the limit is accepted",
       Needs::kUnaryMethod, MetadataAtTheLimit},
      {"6.7/6",
       "initial metadata comes in HEADERS before the reply, trailing in "
       "STATUS",
       Needs::kInterop, MetadataIsEchoed},
      {"6.8/1",
       "the server sends no MESSAGE while its window is used up, and goes on "
       "after a WINDOW_UPDATE",
       Needs::kInterop, ServerRespectsTheWindow},
      {"6.8/2",
       "the server returns window as it reads, so a client can send more "
       "than 64 KiB",
       Needs::kInterop, ServerReturnsWindow},
      {"6.8/3", "a message larger than the whole window is sent and taken",
       Needs::kInterop, LargeMessagesGoOutAlone},
      {"8.2/1",
       "a request MESSAGE over the limit ends its call with STATUS 8; the "
       "connection stays usable",
       Needs::kUnaryMethod, MessageOverTheLimit},
      {"8.2/2",
       "a HEADERS over the limit ends its call with STATUS 8; the "
       "connection stays usable",
       Needs::kUnaryMethod, HeadersOverTheLimit},
      {"8.2/3", "a frame of exactly the limit is allowed", Needs::kInterop,
       FrameAtTheLimit},
  };
}

}  // namespace conformance
}  // namespace sockrpc
