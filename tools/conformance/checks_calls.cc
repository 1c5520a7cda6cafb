// Sections 4.7, 4.11 and 6.1-6.5: calls of every kind, how a client may
// end its side, method names, cancellation.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/conformance/check.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace conformance {
namespace {

// A payload that no message parses: field 1, length 5, no bytes.
constexpr char kUnparsable[] = "\x0a\x05";

// "/pkg.Service/" of "/pkg.Service/Method".
std::string ServicePart(absl::string_view method) {
  const size_t slash = method.rfind('/');
  return std::string(method.substr(0, slash + 1));
}

Outcome UnaryCallSucceeds(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, config.method, config.request));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1) {
    return probe.Fail("[HEADERS] MESSAGE STATUS 0 (section 6.3)",
                      reply.Describe());
  }
  return probe.outcome();
}

Outcome HalfCloseAfterTheRequest(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method) + Message(1, config.request) +
             HalfClose(1));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1) {
    return probe.Fail("one MESSAGE, then STATUS 0", reply.Describe());
  }
  return probe.outcome();
}

Outcome EndStreamOnHeaders(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method, 0, {}, kFlagEndStream));
  probe.ExpectStatus(1, 13, "ended without a request message");
  return probe.outcome();
}

Outcome HalfCloseBeforeTheRequest(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method) + HalfClose(1));
  probe.ExpectStatus(1, 13, "ended without a request message");
  return probe.outcome();
}

Outcome InterleavedCalls(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, config.method) + Headers(3, config.method) +
             Message(3, config.request, kFlagEndStream) +
             Message(1, config.request, kFlagEndStream));
  if (!probe.ExpectStatus(3, 0, "") || !probe.ExpectStatus(1, 0, ""))
    return probe.outcome();
  return probe.outcome();
}

Outcome SparseStreamIds(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(2, config.method, config.request));
  if (!probe.ExpectStatus(2, 0, "")) return probe.outcome();
  probe.Send(UnaryCall(1000, config.method, config.request));
  probe.ExpectStatus(1000, 0, "");
  return probe.outcome();
}

Outcome FramesAfterTheStatusAreIgnored(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, config.method, config.request));
  if (!probe.ExpectStatus(1, 0, "")) return probe.outcome();
  probe.Send(Message(1, config.request, kFlagEndStream) + HalfClose(1) +
             WindowUpdate(1, 100) + Cancel(1));
  std::vector<RawFrame> before;
  if (!probe.PingBarrier(&before)) return probe.outcome();
  if (!before.empty()) {
    return probe.Fail("nothing more on an ended stream (section 6.2)",
                      before.front().Describe());
  }
  return probe.outcome();
}

Outcome UnknownService(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, "/conformance.NoSuchService/Call", ""));
  if (!probe.ExpectStatus(1, 12, "unknown service")) return probe.outcome();
  probe.PingBarrier();  // the connection remains usable
  return probe.outcome();
}

Outcome UnknownMethod(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, ServicePart(config.method) + "NoSuchMethod", ""));
  if (!probe.ExpectStatus(1, 12, "unknown method")) return probe.outcome();
  probe.Send(UnaryCall(3, config.method, config.request));
  probe.ExpectStatus(3, 0, "");
  return probe.outcome();
}

Outcome MalformedMethodNames(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  const std::string service = ServicePart(config.method);
  const std::string names[] = {service, config.method.substr(1),
                               config.method + "/x", "//Method"};
  uint32_t stream_id = 1;
  for (const std::string& name : names) {
    probe.Send(UnaryCall(stream_id, name, ""));
    CallReply reply;
    if (!probe.ReadCall(stream_id, &reply)) return probe.outcome();
    if (reply.code != 12 ||
        !absl::StrContains(reply.message, "malformed method name")) {
      return probe.Fail(absl::StrCat("STATUS 12 UNIMPLEMENTED \"malformed "
                                     "method name ...\" for \"",
                                     name, "\""),
                        reply.Describe());
    }
    stream_id += 2;
  }
  return probe.outcome();
}

Outcome RequestThatDoesNotParse(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, config.method, kUnparsable));
  if (!probe.ExpectStatus(1, 13, "failed to parse")) return probe.outcome();
  probe.Send(UnaryCall(3, config.method, config.request));
  probe.ExpectStatus(3, 0, "");
  return probe.outcome();
}

// Sends `call` on stream 1, waits `wait`, and expects no frame of stream 1
// to have come by a PING sent after that.
Outcome NothingAfterCancel(const CheckConfig& config, const std::string& call,
                           absl::Duration wait) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(call + Cancel(1, "conformance check"));
  absl::SleepFor(wait);
  std::vector<RawFrame> before;
  if (!probe.PingBarrier(&before)) return probe.outcome();
  for (const RawFrame& frame : before) {
    if (frame.stream_id == 1) {
      return probe.Fail(
          "nothing more on a cancelled stream, not even STATUS "
          "(section 4.7)",
          frame.Describe());
    }
  }
  return probe.outcome();
}

Outcome CancelBeforeTheRequest(const CheckConfig& config) {
  // Cancelled while waiting for its request, with a 100 ms deadline: no
  // STATUS 4 may follow.
  return NothingAfterCancel(config, Headers(1, config.method, 100000),
                            absl::Milliseconds(600));
}

Outcome CancelARunningCall(const CheckConfig& config) {
  return NothingAfterCancel(
      config, UnaryCall(1, InteropMethod("SleepCall"), SleepRequest(100)),
      absl::Milliseconds(600));
}

Outcome ServerStreaming(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, InteropMethod("StreamingOutputCall"),
                       DownloadRequest({10, 0, 300})));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  const size_t sizes[] = {10, 0, 300};
  bool right = reply.messages.size() == 3;
  for (size_t i = 0; right && i < 3; ++i) {
    right = VarintField(reply.messages[i], 1).value_or(0) == i &&
            BytesField(reply.messages[i], 2).value_or("").size() == sizes[i];
  }
  if (!right) {
    return probe.Fail(
        "three MESSAGEs (StreamChunk index 0, 1, 2 with 10, 0, 300 bytes), "
        "then STATUS 0",
        reply.Describe());
  }
  return probe.outcome();
}

// A StreamingInputCall sending `frames` after its HEADERS (with `flags`):
// the UploadSummary must count `total` bytes in `chunks` chunks.
Outcome Upload(const CheckConfig& config, uint8_t header_flags,
               const std::string& frames, uint64_t total, uint64_t chunks) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(
      Headers(1, InteropMethod("StreamingInputCall"), 0, {}, header_flags) +
      frames);
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1 ||
      VarintField(reply.messages[0], 1).value_or(0) != total ||
      VarintField(reply.messages[0], 2).value_or(0) != chunks) {
    return probe.Fail(
        absl::StrCat("one MESSAGE (UploadSummary total_size ", total,
                     ", chunk_count ", chunks, "), then STATUS 0"),
        absl::StrCat(reply.Describe(), "; MESSAGE ",
                     reply.messages.empty() ? "" : Hex(reply.messages[0])));
  }
  return probe.outcome();
}

Outcome ClientStreamingWithHalfClose(const CheckConfig& config) {
  return Upload(config, 0,
                Message(1, UploadChunk("12345")) +
                    Message(1, UploadChunk("123456")) + HalfClose(1),
                11, 2);
}

Outcome ClientStreamingWithEndStream(const CheckConfig& config) {
  return Upload(config, 0,
                Message(1, UploadChunk("12345")) +
                    Message(1, UploadChunk("123456"), kFlagEndStream),
                11, 2);
}

Outcome ClientStreamingEndedOnHeaders(const CheckConfig& config) {
  return Upload(config, kFlagEndStream, "", 0, 0);
}

Outcome MessageAfterHalfCloseIsIgnored(const CheckConfig& config) {
  return Upload(config, 0,
                Message(1, UploadChunk("12345")) + HalfClose(1) +
                    Message(1, UploadChunk("ignored")),
                5, 1);
}

Outcome BidiRepliesBeforeHalfClose(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, InteropMethod("FullDuplexCall")) +
             Message(1, UnaryRequest("", 7)));
  // The reply must come while the client's side is still open.
  std::optional<RawFrame> frame;
  do {
    frame = probe.Next("a MESSAGE on stream 1 before the client half-closes");
    if (!frame) return probe.outcome();
  } while (frame->type == kHeaders || frame->type == kWindowUpdate);
  if (frame->type != kMessage || frame->stream_id != 1) {
    return probe.Fail("a MESSAGE on stream 1 before the client half-closes",
                      frame->Describe());
  }
  probe.Send(HalfClose(1));
  probe.ExpectStatus(1, 0, "");
  return probe.outcome();
}

Outcome ServerStreamingWithoutRequest(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(Headers(1, InteropMethod("StreamingOutputCall")) + HalfClose(1));
  probe.ExpectStatus(1, 13, "ended without a request message");
  return probe.outcome();
}

Outcome FailureAfterInitialMetadata(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  probe.Send(UnaryCall(1, InteropMethod("UnaryCall"),
                       UnaryRequest("", 10, 5, "conformance"), 0,
                       {{"x-sockrpc-test-echo-initial", "v"}}));
  CallReply reply;
  if (!probe.ExpectStatus(1, 5, "conformance", &reply)) return probe.outcome();
  if (!reply.initial) {
    return probe.Fail("HEADERS, then STATUS 5 (sections 6.3, 6.4)",
                      reply.Describe());
  }
  return probe.outcome();
}

}  // namespace

std::vector<Check> CallChecks() {
  return {
      {"4.7/1",
       "a CANCEL before the request ends the call: no STATUS, not even at "
       "its deadline",
       Needs::kUnaryMethod, CancelBeforeTheRequest},
      {"4.7/2", "a CANCEL of a running call: nothing more on its stream",
       Needs::kInterop, CancelARunningCall},
      {"4.11/1", "a MESSAGE after HALF_CLOSE is ignored", Needs::kInterop,
       MessageAfterHalfCloseIsIgnored},
      {"6.1/2", "stream ids need not be consecutive", Needs::kUnaryMethod,
       SparseStreamIds},
      {"6.2/1", "frames on a stream after its STATUS are ignored",
       Needs::kUnaryMethod, FramesAfterTheStatusAreIgnored},
      {"6.3/1",
       "a unary call (HEADERS, MESSAGE with END_STREAM) gets [HEADERS] "
       "MESSAGE STATUS 0",
       Needs::kUnaryMethod, UnaryCallSucceeds},
      {"6.3/2", "a unary call ended by HALF_CLOSE after its MESSAGE succeeds",
       Needs::kUnaryMethod, HalfCloseAfterTheRequest},
      {"6.3/3",
       "a unary call with END_STREAM on its HEADERS ends with STATUS 13 at "
       "once",
       Needs::kUnaryMethod, EndStreamOnHeaders},
      {"6.3/4",
       "a unary call half-closed before its MESSAGE ends with STATUS 13 at "
       "once",
       Needs::kUnaryMethod, HalfCloseBeforeTheRequest},
      {"6.3/5", "two calls whose frames interleave are both answered",
       Needs::kUnaryMethod, InterleavedCalls},
      {"6.3/6",
       "a failed call whose handler set initial metadata gets HEADERS then "
       "STATUS, no MESSAGE",
       Needs::kInterop, FailureAfterInitialMetadata},
      {"6.4/1",
       "a server-streaming call gets its MESSAGEs in order, then STATUS 0",
       Needs::kInterop, ServerStreaming},
      {"6.4/2", "a client-streaming call ended by HALF_CLOSE", Needs::kInterop,
       ClientStreamingWithHalfClose},
      {"6.4/3",
       "a client-streaming call ended by END_STREAM on its last MESSAGE",
       Needs::kInterop, ClientStreamingWithEndStream},
      {"6.4/4", "a client-streaming call ended by END_STREAM on its HEADERS",
       Needs::kInterop, ClientStreamingEndedOnHeaders},
      {"6.4/5",
       "a bidirectional call's reply comes before the client half-closes",
       Needs::kInterop, BidiRepliesBeforeHalfClose},
      {"6.4/6",
       "a server-streaming call half-closed without a request ends with "
       "STATUS 13",
       Needs::kInterop, ServerStreamingWithoutRequest},
      {"6.5/1",
       "an unknown service gets STATUS 12, and the connection stays usable",
       Needs::kNothing, UnknownService},
      {"6.5/2",
       "an unknown method gets STATUS 12, and the connection stays usable",
       Needs::kUnaryMethod, UnknownMethod},
      {"6.5/3",
       "malformed method names (empty part, no leading slash, third slash) "
       "get STATUS 12",
       Needs::kUnaryMethod, MalformedMethodNames},
      {"8.1/12",
       "a request that does not parse ends only its call, with STATUS 13",
       Needs::kUnaryMethod, RequestThatDoesNotParse},
  };
}

}  // namespace conformance
}  // namespace sockrpc
