#include "tests/interop/interop_cases.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "tests/interop/interop_cases_internal.h"

namespace sockrpc {
namespace interop {

const std::vector<InteropCase>& InteropCases() {
  static const std::vector<InteropCase>* const kCases = new std::vector<
      InteropCase>{
      {"empty_unary", "empty request and reply, sync and async", EmptyUnary},
      {"large_unary",
       "271828-byte request, 314159-byte reply, contents checked", LargeUnary},
      {"pipelined_unary",
       "32 unary calls sent right behind one that sleeps, on one "
       "connection, all answered while it sleeps",
       PipelinedUnary},
      {"client_streaming",
       "27182, 8, 1828 and 45904 bytes up; the server adds them to 74922",
       ClientStreaming},
      {"server_streaming",
       "replies of 31415, 9, 2653 and 58979 bytes, in order", ServerStreaming},
      {"ping_pong", "bidi: write one, read one, four times", PingPong},
      {"half_duplex", "bidi: all requests first, then all replies", HalfDuplex},
      {"empty_stream", "bidi with no messages either way ends OK", EmptyStream},
      {"timeout_on_sleeping_server",
       "a short deadline on a slow call ends it with DEADLINE_EXCEEDED "
       "in bounded time (unary and mid-stream)",
       TimeoutOnSleepingServer},
      {"cancel_after_begin",
       "a client-streaming call cancelled before any message: CANCELLED",
       CancelAfterBegin},
      {"cancel_after_first_response",
       "a bidi call cancelled after its first reply: CANCELLED",
       CancelAfterFirstResponse},
      {"status_code_and_message",
       "the server's status code and message arrive (unary and bidi)",
       StatusCodeAndMessage},
      {"special_status_message",
       "a status message with whitespace and non-ASCII arrives intact",
       SpecialStatusMessage},
      {"custom_metadata",
       "request metadata echoed as initial and trailing metadata "
       "(unary and bidi)",
       CustomMetadata},
      {"unimplemented_method",
       "a declared method the server did not override: UNIMPLEMENTED",
       UnimplementedMethod},
      {"unimplemented_service",
       "a service the server does not have: UNIMPLEMENTED",
       UnimplementedService},
      {"oversized_message",
       "a request over the server's frame limit: RESOURCE_EXHAUSTED, and "
       "the channel still works",
       OversizedMessage},
      {"concurrent_streams",
       "100 bidi streams open at once on one channel, each checked",
       ConcurrentStreams},
  };
  return *kCases;
}

const InteropCase* FindCase(absl::string_view name) {
  for (const InteropCase& c : InteropCases()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

absl::StatusOr<Client> Connect(const CaseOptions& options) {
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(options.target, options.channel_options);
  if (!channel.ok()) return channel.status();
  Client client;
  client.channel = *std::move(channel);
  client.stub = std::make_unique<InteropTest::Stub>(client.channel);
  return client;
}

void Bound(const CaseOptions& options, ClientContext* context) {
  context->set_timeout(options.call_timeout);
}

absl::Status ExpectCode(absl::string_view what, const absl::Status& status,
                        absl::StatusCode want) {
  if (status.code() == want) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": expected status ", absl::StatusCodeToString(want),
                   ", got ", status.ToString()));
}

absl::Status ExpectOk(absl::string_view what, const absl::Status& status) {
  return ExpectCode(what, status, absl::StatusCode::kOk);
}

absl::Status ExpectEntry(absl::string_view what, const Metadata& metadata,
                         absl::string_view key, absl::string_view value) {
  int found = 0;
  std::string seen;
  for (const auto& [k, v] : metadata) {
    absl::StrAppend(&seen, seen.empty() ? "" : ", ", k, "=\"", Escaped(v),
                    "\"");
    if (k != key) continue;
    ++found;
    if (v != value) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": entry ", key, " is \"", Escaped(v),
                       "\", expected \"", Escaped(value), "\""));
    }
  }
  if (found != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": expected one entry ", key, ", found ", found,
                     " among {", seen, "}"));
  }
  return absl::OkStatus();
}

std::string Escaped(absl::string_view bytes) { return absl::CHexEscape(bytes); }

}  // namespace interop
}  // namespace sockrpc
