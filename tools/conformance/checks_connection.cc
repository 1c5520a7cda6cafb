// Section 9: how a server ends a connection. The shutdown check ends the
// server itself (it sends the process SIGTERM), so it runs last.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sockrpc/wire.pb.h"
#include "tools/conformance/check.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace conformance {
namespace {

Outcome GracefulShutdown(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  // Stream 1 waits for its request; the PING makes sure the server has
  // read its HEADERS before the signal.
  probe.Send(Headers(1, config.method));
  if (!probe.PingBarrier()) return probe.outcome();
  if (kill(config.shutdown_pid, SIGTERM) != 0) {
    return probe.Fail(absl::StrCat("to signal process ", config.shutdown_pid),
                      "kill() failed");
  }
  const std::string expected =
      "GOAWAY 14 UNAVAILABLE \"server shutting down\" with last_stream_id 1 "
      "(section 9, step 1)";
  std::optional<RawFrame> frame = probe.Next(expected);
  if (!frame) return probe.outcome();
  wire::GoAway goaway;
  if (frame->type != kGoAway || !goaway.ParseFromString(frame->payload) ||
      goaway.code() != 14 || goaway.last_stream_id() != 1 ||
      !absl::StrContains(goaway.message(), "shutting down")) {
    return probe.Fail(
        expected,
        absl::StrCat(frame->Describe(), " code ", goaway.code(), " \"",
                     goaway.message(), "\" last ", goaway.last_stream_id()));
  }
  // A call above last_stream_id is not processed (STATUS 14 or nothing);
  // the call at it still gets its request and finishes.
  probe.Send(UnaryCall(3, config.method, config.request) +
             Message(1, config.request, kFlagEndStream));
  CallReply reply;
  if (!probe.ExpectStatus(1, 0, "", &reply)) return probe.outcome();
  if (reply.messages.size() != 1) {
    return probe.Fail("stream 1 finishes: MESSAGE, STATUS 0 (step 3)",
                      reply.Describe());
  }
  // Then stream 3 may get STATUS 14 (also if it came while stream 1 was
  // read), and the connection closes.
  for (;;) {
    std::optional<RawFrame> next =
        probe.NextOrEnd("the connection closed once stream 1 is done");
    if (!next) return probe.outcome();  // closed, as step 4 says: a pass
    wire::CallStatus status;
    if (next->stream_id != 3 || next->type != kStatus ||
        !status.ParseFromString(next->payload) || status.code() != 14) {
      return probe.Fail(
          "for stream 3 (above last_stream_id) nothing or STATUS 14, then "
          "the close (step 2)",
          next->Describe());
    }
  }
}

}  // namespace

std::vector<Check> ConnectionChecks() {
  return {
      {"9/1",
       "on SIGTERM: GOAWAY 14 naming the last stream, that call still "
       "finishes, later ones are not processed, then the close",
       Needs::kShutdown, GracefulShutdown},
  };
}

}  // namespace conformance
}  // namespace sockrpc
