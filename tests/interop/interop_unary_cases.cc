// The interop cases of unary calls, deadlines and unknown names.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client_streams.h"
#include "tests/interop/interop_cases_internal.h"
#include "tests/interop/interop_common.h"

namespace sockrpc {
namespace interop {
namespace {

// How far past its deadline a timed-out call may end: generous, so a busy
// machine does not fail the case, yet far below the server's sleep.
constexpr absl::Duration kDeadlineSlack = absl::Seconds(2);

}  // namespace

absl::Status EmptyUnary(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  ClientContext context;
  Bound(options, &context);
  absl::StatusOr<Nothing> reply = client->stub->EmptyCall(&context, Nothing());
  SOCKRPC_RETURN_IF_ERROR(ExpectOk("EmptyCall", reply.status()));
  INTEROP_EXPECT(reply->ByteSizeLong() == 0, "reply of ", reply->ByteSizeLong(),
                 " bytes");

  ClientContext async_context;
  Bound(options, &async_context);
  UnaryFuture<Nothing> future =
      client->stub->AsyncEmptyCall(&async_context, Nothing());
  absl::StatusOr<Nothing> async_reply = future.Get();
  return ExpectOk("AsyncEmptyCall", async_reply.status());
}

absl::Status LargeUnary(const CaseOptions& options) {
  constexpr size_t kRequestSize = 271828;
  constexpr size_t kReplySize = 314159;
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  UnaryRequest request;
  request.set_body(Pattern(kRequestSize, 1));
  request.set_reply_size(kReplySize);
  ClientContext context;
  Bound(options, &context);
  absl::StatusOr<UnaryReply> reply = client->stub->UnaryCall(&context, request);
  SOCKRPC_RETURN_IF_ERROR(ExpectOk("UnaryCall", reply.status()));
  INTEROP_EXPECT(reply->request_size() == kRequestSize, "the server saw ",
                 reply->request_size(), " request bytes");
  INTEROP_EXPECT(reply->request_fingerprint() == Fingerprint(request.body()),
                 "the server saw different request bytes");
  SOCKRPC_RETURN_IF_ERROR(
      CheckPattern("reply body", reply->body(), kReplySize, 0));

  // The same again through the asynchronous form, with two calls in flight.
  ClientContext first_context;
  ClientContext second_context;
  Bound(options, &first_context);
  Bound(options, &second_context);
  UnaryFuture<UnaryReply> first =
      client->stub->AsyncUnaryCall(&first_context, request);
  UnaryFuture<UnaryReply> second =
      client->stub->AsyncUnaryCall(&second_context, request);
  for (UnaryFuture<UnaryReply>* future : {&second, &first}) {
    absl::StatusOr<UnaryReply> async_reply = future->Get();
    SOCKRPC_RETURN_IF_ERROR(ExpectOk("AsyncUnaryCall", async_reply.status()));
    INTEROP_EXPECT(
        async_reply->request_fingerprint() == Fingerprint(request.body()),
        "the server saw different request bytes (async)");
    SOCKRPC_RETURN_IF_ERROR(
        CheckPattern("async reply body", async_reply->body(), kReplySize, 0));
  }
  return absl::OkStatus();
}

absl::Status PipelinedUnary(const CaseOptions& options) {
  constexpr int kQuickCalls = 32;
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  // A call that sleeps goes out first, the quick calls right behind it on
  // the same connection: a server that runs calls arriving together one
  // after another must not hold the quick ones (or their replies) back
  // behind the sleeper.
  SleepRequest sleep;
  sleep.set_sleep_ms(60000);
  ClientContext sleeper_context;
  UnaryFuture<Nothing> sleeper =
      client->stub->AsyncSleepCall(&sleeper_context, sleep);
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::vector<UnaryFuture<UnaryReply>> quick;
  for (int i = 0; i < kQuickCalls; ++i) {
    contexts.push_back(std::make_unique<ClientContext>());
    Bound(options, contexts.back().get());
    UnaryRequest request;
    request.set_body(Pattern(64 + i, i));
    request.set_reply_size(static_cast<uint32_t>(32 + i));
    quick.push_back(client->stub->AsyncUnaryCall(contexts.back().get(), request));
  }
  for (int i = 0; i < kQuickCalls; ++i) {
    absl::StatusOr<UnaryReply> reply = quick[i].Get();
    SOCKRPC_RETURN_IF_ERROR(ExpectOk("UnaryCall", reply.status()));
    INTEROP_EXPECT(reply->request_size() == static_cast<uint64_t>(64 + i),
                   "call ", i, " got the reply of a ", reply->request_size(),
                   "-byte request");
    SOCKRPC_RETURN_IF_ERROR(
        CheckPattern("reply body", reply->body(), 32 + i, 0));
  }
  INTEROP_EXPECT(!sleeper.WaitFor(absl::ZeroDuration()),
                 "the sleeping call ended before the quick ones were checked");
  sleeper_context.TryCancel();
  return ExpectCode("SleepCall", sleeper.Get().status(),
                    absl::StatusCode::kCancelled);
}

absl::Status TimeoutOnSleepingServer(const CaseOptions& options) {
  constexpr absl::Duration kTimeout = absl::Milliseconds(100);
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  // Unary: the server sleeps far longer than the client waits.
  {
    SleepRequest request;
    request.set_sleep_ms(30000);
    ClientContext context;
    context.set_timeout(kTimeout);
    absl::Time start = absl::Now();
    absl::StatusOr<Nothing> reply = client->stub->SleepCall(&context, request);
    absl::Duration elapsed = absl::Now() - start;
    SOCKRPC_RETURN_IF_ERROR(ExpectCode("SleepCall", reply.status(),
                                       absl::StatusCode::kDeadlineExceeded));
    INTEROP_EXPECT(elapsed < kTimeout + kDeadlineSlack, "SleepCall took ",
                   absl::FormatDuration(elapsed));
  }

  // Server streaming: the deadline passes between two replies.
  {
    DownloadRequest request;
    for (int i = 0; i < 20; ++i) request.add_reply_sizes(100);
    request.set_pause_us(40000);
    ClientContext context;
    context.set_timeout(kTimeout);
    absl::Time start = absl::Now();
    ClientReader<StreamChunk> reader =
        client->stub->StreamingOutputCall(&context, request);
    StreamChunk chunk;
    int received = 0;
    while (reader.Read(&chunk)) ++received;
    absl::Status status = reader.Finish();
    absl::Duration elapsed = absl::Now() - start;
    SOCKRPC_RETURN_IF_ERROR(ExpectCode("StreamingOutputCall", status,
                                       absl::StatusCode::kDeadlineExceeded));
    INTEROP_EXPECT(received < 20, "all ", received, " replies arrived");
    INTEROP_EXPECT(elapsed < kTimeout + kDeadlineSlack,
                   "StreamingOutputCall took ", absl::FormatDuration(elapsed));
  }

  // The channel is still fine afterwards.
  ClientContext context;
  Bound(options, &context);
  return ExpectOk("EmptyCall after the timeouts",
                  client->stub->EmptyCall(&context, Nothing()).status());
}

absl::Status UnimplementedMethod(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  return ExpectCode(
      "UnimplementedCall",
      client->stub->UnimplementedCall(&context, Nothing()).status(),
      absl::StatusCode::kUnimplemented);
}

absl::Status UnimplementedService(const CaseOptions& options) {
  constexpr char kMethod[] = "/sockrpc.interop.NoSuchService/EmptyCall";
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  Nothing reply;
  absl::Status status =
      client->channel->CallUnary(&context, kMethod, Nothing(), &reply);
  SOCKRPC_RETURN_IF_ERROR(
      ExpectCode(kMethod, status, absl::StatusCode::kUnimplemented));
  INTEROP_EXPECT(
      absl::StrContains(status.message(), "sockrpc.interop.NoSuchService"),
      "the message does not name the service: ", status.message());
  return absl::OkStatus();
}

absl::Status OversizedMessage(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  // A first call, so the oversized one goes out on a connection in use.
  {
    ClientContext context;
    Bound(options, &context);
    SOCKRPC_RETURN_IF_ERROR(
        ExpectOk("EmptyCall before",
                 client->stub->EmptyCall(&context, Nothing()).status()));
  }
  {
    UnaryRequest request;
    request.set_body(Pattern(options.oversized_size, 2));
    request.set_reply_size(10);
    ClientContext context;
    Bound(options, &context);
    absl::Status status = client->stub->UnaryCall(&context, request).status();
    SOCKRPC_RETURN_IF_ERROR(ExpectCode(
        absl::StrCat("UnaryCall with ", options.oversized_size,
                     " request bytes (start interop_server with a smaller "
                     "--max_frame_size)"),
        status, absl::StatusCode::kResourceExhausted));
    INTEROP_EXPECT(absl::StrContains(status.message(), "exceeds the limit"),
                   "message: ", status.message());
  }
  // The same channel (and connection) keeps working.
  UnaryRequest request;
  request.set_body(Pattern(1000, 3));
  request.set_reply_size(2000);
  ClientContext context;
  Bound(options, &context);
  absl::StatusOr<UnaryReply> reply = client->stub->UnaryCall(&context, request);
  SOCKRPC_RETURN_IF_ERROR(
      ExpectOk("UnaryCall after the oversized one", reply.status()));
  INTEROP_EXPECT(reply->request_fingerprint() == Fingerprint(request.body()),
                 "the server saw different request bytes");
  return CheckPattern("reply body", reply->body(), 2000, 0);
}

}  // namespace interop
}  // namespace sockrpc
