// The interop cases of statuses and metadata travelling back to the client.
#include <string>

#include "client/client_streams.h"
#include "tests/interop/interop_cases_internal.h"
#include "tests/interop/interop_common.h"

namespace sockrpc {
namespace interop {
namespace {

// Returns OK if `status` is exactly code `code` with message `message`.
absl::Status ExpectStatus(absl::string_view what, const absl::Status& status,
                          absl::StatusCode code, absl::string_view message) {
  SOCKRPC_RETURN_IF_ERROR(ExpectCode(what, status, code));
  INTEROP_EXPECT(status.message() == message, what, ": message \"",
                 Escaped(status.message()), "\", expected \"", Escaped(message),
                 "\"");
  return absl::OkStatus();
}

// Asks for `code` and `message` through a unary call and through a bidi
// call, and checks that both end with exactly that status.
absl::Status EchoStatusBothWays(const CaseOptions& options,
                                absl::StatusCode code,
                                absl::string_view message) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  StatusToEcho echo;
  echo.set_code(static_cast<uint32_t>(code));
  echo.set_message(std::string(message));

  {
    UnaryRequest request;
    *request.mutable_echo_status() = echo;
    ClientContext context;
    Bound(options, &context);
    SOCKRPC_RETURN_IF_ERROR(ExpectStatus(
        "UnaryCall", client->stub->UnaryCall(&context, request).status(), code,
        message));
  }
  {
    ClientContext context;
    Bound(options, &context);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        client->stub->FullDuplexCall(&context);
    DuplexRequest request;
    request.set_reply_size(10);
    *request.mutable_echo_status() = echo;
    // The server may end the call before the half-close goes out, so
    // neither Write() nor WritesDone() is required to succeed.
    stream.Write(request);
    stream.WritesDone();
    StreamChunk chunk;
    INTEROP_EXPECT(!stream.Read(&chunk), "a reply (index ", chunk.index(),
                   ") to a request that asked for a status");
    SOCKRPC_RETURN_IF_ERROR(
        ExpectStatus("FullDuplexCall", stream.Finish(), code, message));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StatusCodeAndMessage(const CaseOptions& options) {
  SOCKRPC_RETURN_IF_ERROR(EchoStatusBothWays(
      options, absl::StatusCode::kUnknown, "test status message"));
  return EchoStatusBothWays(options, absl::StatusCode::kFailedPrecondition,
                            "the widget is not ready");
}

absl::Status SpecialStatusMessage(const CaseOptions& options) {
  return EchoStatusBothWays(
      options, absl::StatusCode::kUnknown,
      "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP "
      "\U0001F608\t\n");
}

absl::Status CustomMetadata(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  auto add_echo_keys = [](ClientContext* context) {
    context->AddMetadata(kEchoInitialKey, kEchoInitialValue);
    context->AddMetadata(kEchoTrailingKey, kEchoTrailingValue);
  };

  // Unary.
  {
    UnaryRequest request;
    request.set_body(Pattern(271, 4));
    request.set_reply_size(314);
    ClientContext context;
    Bound(options, &context);
    add_echo_keys(&context);
    absl::StatusOr<UnaryReply> reply =
        client->stub->UnaryCall(&context, request);
    SOCKRPC_RETURN_IF_ERROR(ExpectOk("UnaryCall", reply.status()));
    SOCKRPC_RETURN_IF_ERROR(CheckPattern("reply body", reply->body(), 314, 0));
    SOCKRPC_RETURN_IF_ERROR(ExpectEntry("UnaryCall initial metadata",
                                        context.server_initial_metadata(),
                                        kEchoInitialKey, kEchoInitialValue));
    SOCKRPC_RETURN_IF_ERROR(ExpectEntry("UnaryCall trailing metadata",
                                        context.server_trailing_metadata(),
                                        kEchoTrailingKey, kEchoTrailingValue));
  }

  // Bidi: the initial metadata is there by the first reply, the trailing
  // metadata after Finish().
  {
    ClientContext context;
    Bound(options, &context);
    add_echo_keys(&context);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        client->stub->FullDuplexCall(&context);
    DuplexRequest request;
    request.set_body(Pattern(271, 5));
    request.set_reply_size(314);
    INTEROP_EXPECT(stream.Write(request),
                   "Write failed: ", stream.Finish().ToString());
    StreamChunk chunk;
    INTEROP_EXPECT(stream.Read(&chunk),
                   "no reply: ", stream.Finish().ToString());
    SOCKRPC_RETURN_IF_ERROR(CheckPattern("reply body", chunk.body(), 314, 0));
    SOCKRPC_RETURN_IF_ERROR(ExpectEntry("FullDuplexCall initial metadata",
                                        context.server_initial_metadata(),
                                        kEchoInitialKey, kEchoInitialValue));
    INTEROP_EXPECT(stream.WritesDone(),
                   "WritesDone failed: ", stream.Finish().ToString());
    INTEROP_EXPECT(!stream.Read(&chunk), "an unexpected second reply");
    SOCKRPC_RETURN_IF_ERROR(ExpectOk("FullDuplexCall", stream.Finish()));
    SOCKRPC_RETURN_IF_ERROR(ExpectEntry("FullDuplexCall trailing metadata",
                                        context.server_trailing_metadata(),
                                        kEchoTrailingKey, kEchoTrailingValue));
  }
  return absl::OkStatus();
}

}  // namespace interop
}  // namespace sockrpc
