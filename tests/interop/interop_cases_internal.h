// Internal to the interop cases: the helpers they share and the case
// functions themselves, which interop_cases.cc lists. Test-only.
#ifndef SOCKRPC_TESTS_INTEROP_INTEROP_CASES_INTERNAL_H_
#define SOCKRPC_TESTS_INTEROP_INTEROP_CASES_INTERNAL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "interop.sockrpc.pb.h"
#include "tests/interop/interop_cases.h"
#include "tests/interop/interop_common.h"
#include "transport/metadata.h"
#include "transport/status_macros.h"

// INTEROP_EXPECT(condition, message parts...): fails the enclosing case
// (returns an error from it) with the StrCat of the message parts unless
// `condition` holds.
#define INTEROP_EXPECT(condition, ...)                                 \
  do {                                                                 \
    if (!(condition)) {                                                \
      return ::absl::FailedPreconditionError(                          \
          ::absl::StrCat("expected ", #condition, ": ", __VA_ARGS__)); \
    }                                                                  \
  } while (0)

namespace sockrpc {
namespace interop {

// The request metadata of custom_metadata, which the server echoes.
inline constexpr char kEchoInitialValue[] = "test_initial_metadata_value";
inline constexpr char kEchoTrailingValue[] = "\x0a\x0b\x0a\x0b\x0a\x0b";

// A connected stub and the channel under it.
struct Client {
  std::shared_ptr<Channel> channel;
  std::unique_ptr<InteropTest::Stub> stub;
};

// Connect makes a new channel to options.target (each case starts afresh).
absl::StatusOr<Client> Connect(const CaseOptions& options);

// Bound gives `context` the case's call timeout.
void Bound(const CaseOptions& options, ClientContext* context);

// ExpectCode returns OK if `status` has code `want`; otherwise an error
// naming `what`, the code wanted and the status received.
absl::Status ExpectCode(absl::string_view what, const absl::Status& status,
                        absl::StatusCode want);

// ExpectOk is ExpectCode(what, status, kOk).
absl::Status ExpectOk(absl::string_view what, const absl::Status& status);

// ExpectEntry returns OK if `metadata` holds exactly one entry `key` and
// its value is `value`.
absl::Status ExpectEntry(absl::string_view what, const Metadata& metadata,
                         absl::string_view key, absl::string_view value);

// Escaped renders bytes for a failure message.
std::string Escaped(absl::string_view bytes);

// The cases, one function each (see InteropCases() for what they check).
absl::Status EmptyUnary(const CaseOptions& options);
absl::Status LargeUnary(const CaseOptions& options);
absl::Status PipelinedUnary(const CaseOptions& options);
absl::Status ClientStreaming(const CaseOptions& options);
absl::Status ServerStreaming(const CaseOptions& options);
absl::Status PingPong(const CaseOptions& options);
absl::Status HalfDuplex(const CaseOptions& options);
absl::Status EmptyStream(const CaseOptions& options);
absl::Status TimeoutOnSleepingServer(const CaseOptions& options);
absl::Status CancelAfterBegin(const CaseOptions& options);
absl::Status CancelAfterFirstResponse(const CaseOptions& options);
absl::Status StatusCodeAndMessage(const CaseOptions& options);
absl::Status SpecialStatusMessage(const CaseOptions& options);
absl::Status CustomMetadata(const CaseOptions& options);
absl::Status UnimplementedMethod(const CaseOptions& options);
absl::Status UnimplementedService(const CaseOptions& options);
absl::Status OversizedMessage(const CaseOptions& options);
absl::Status ConcurrentStreams(const CaseOptions& options);

}  // namespace interop
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_INTEROP_INTEROP_CASES_INTERNAL_H_
