// The interop cases of streaming calls and cancellation.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "transport/sync.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client_streams.h"
#include "tests/interop/interop_cases_internal.h"
#include "tests/interop/interop_common.h"

namespace sockrpc {
namespace interop {
namespace {

// The sizes of the streaming cases: what the client sends, and what it
// asks the server to send back.
constexpr uint32_t kRequestSizes[] = {27182, 8, 1828, 45904};
constexpr uint32_t kReplySizes[] = {31415, 9, 2653, 58979};
constexpr int kMessages = 4;

// Checks that `chunk` is reply number `index` of `size` bytes.
absl::Status CheckChunk(const StreamChunk& chunk, uint32_t index,
                        uint32_t size) {
  INTEROP_EXPECT(chunk.index() == index, "reply ", index, " has index ",
                 chunk.index());
  return CheckPattern(absl::StrCat("reply ", index), chunk.body(), size, index);
}

DuplexRequest MakeDuplexRequest(int i) {
  DuplexRequest request;
  request.set_body(Pattern(kRequestSizes[i], i));
  request.set_reply_size(kReplySizes[i]);
  return request;
}

// The end of a bidi stream: WritesDone, no further reply, status OK.
absl::Status FinishCleanly(
    absl::string_view what,
    ClientReaderWriter<DuplexRequest, StreamChunk>& stream) {
  INTEROP_EXPECT(stream.WritesDone(), what,
                 ": WritesDone failed: ", stream.Finish().ToString());
  StreamChunk extra;
  INTEROP_EXPECT(!stream.Read(&extra), what, ": an unexpected reply (index ",
                 extra.index(), ")");
  return ExpectOk(what, stream.Finish());
}

// Gate lets `count` threads wait until all of them have reached it, each
// wait bounded by a deadline. A thread that gives up early calls Leave()
// so that the others need not wait for it.
class Gate {
 public:
  explicit Gate(int count) : count_(count) {}
  // Arrives and waits for the others; false if the deadline passed first.
  bool ArriveAndWait(absl::Time deadline) {
    sockrpc::MutexLock lock(&mu_);
    ++arrived_;
    return mu_.AwaitWithDeadline([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return AllArrived(); },
                                 deadline);
  }
  void Leave() {
    sockrpc::MutexLock lock(&mu_);
    ++arrived_;
  }
  int arrived() {
    sockrpc::MutexLock lock(&mu_);
    return arrived_;
  }

 private:
  bool AllArrived() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return arrived_ >= count_;
  }
  const int count_;
  sockrpc::Mutex mu_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

absl::Status ClientStreaming(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientWriter<UploadChunk, UploadSummary> writer =
      client->stub->StreamingInputCall(&context);
  for (int i = 0; i < kMessages; ++i) {
    UploadChunk chunk;
    chunk.set_body(Pattern(kRequestSizes[i], i));
    INTEROP_EXPECT(writer.Write(chunk), "Write ", i,
                   " failed: ", writer.Finish().status().ToString());
  }
  absl::StatusOr<UploadSummary> summary = writer.Finish();
  SOCKRPC_RETURN_IF_ERROR(ExpectOk("StreamingInputCall", summary.status()));
  INTEROP_EXPECT(summary->total_size() == 74922, "total ",
                 summary->total_size());
  INTEROP_EXPECT(summary->chunk_count() == kMessages, "chunk count ",
                 summary->chunk_count());
  return absl::OkStatus();
}

absl::Status ServerStreaming(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  DownloadRequest request;
  for (uint32_t size : kReplySizes) request.add_reply_sizes(size);
  ClientContext context;
  Bound(options, &context);
  ClientReader<StreamChunk> reader =
      client->stub->StreamingOutputCall(&context, request);
  StreamChunk chunk;
  uint32_t received = 0;
  while (reader.Read(&chunk)) {
    INTEROP_EXPECT(received < kMessages, "more than ", kMessages, " replies");
    SOCKRPC_RETURN_IF_ERROR(CheckChunk(chunk, received, kReplySizes[received]));
    ++received;
  }
  SOCKRPC_RETURN_IF_ERROR(ExpectOk("StreamingOutputCall", reader.Finish()));
  INTEROP_EXPECT(received == kMessages, "only ", received, " replies");
  return absl::OkStatus();
}

absl::Status PingPong(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      client->stub->FullDuplexCall(&context);
  for (int i = 0; i < kMessages; ++i) {
    INTEROP_EXPECT(stream.Write(MakeDuplexRequest(i)), "Write ", i,
                   " failed: ", stream.Finish().ToString());
    StreamChunk chunk;
    INTEROP_EXPECT(stream.Read(&chunk), "no reply to request ", i, ": ",
                   stream.Finish().ToString());
    SOCKRPC_RETURN_IF_ERROR(CheckChunk(chunk, i, kReplySizes[i]));
  }
  return FinishCleanly("FullDuplexCall", stream);
}

absl::Status HalfDuplex(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      client->stub->HalfDuplexCall(&context);
  for (int i = 0; i < kMessages; ++i) {
    INTEROP_EXPECT(stream.Write(MakeDuplexRequest(i)), "Write ", i,
                   " failed: ", stream.Finish().ToString());
  }
  INTEROP_EXPECT(stream.WritesDone(),
                 "WritesDone failed: ", stream.Finish().ToString());
  StreamChunk chunk;
  for (int i = 0; i < kMessages; ++i) {
    INTEROP_EXPECT(stream.Read(&chunk), "no reply ", i, ": ",
                   stream.Finish().ToString());
    SOCKRPC_RETURN_IF_ERROR(CheckChunk(chunk, i, kReplySizes[i]));
  }
  INTEROP_EXPECT(!stream.Read(&chunk), "an unexpected fifth reply");
  return ExpectOk("HalfDuplexCall", stream.Finish());
}

absl::Status EmptyStream(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      client->stub->FullDuplexCall(&context);
  return FinishCleanly("FullDuplexCall", stream);
}

absl::Status CancelAfterBegin(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientWriter<UploadChunk, UploadSummary> writer =
      client->stub->StreamingInputCall(&context);
  context.TryCancel();
  absl::StatusOr<UploadSummary> summary = writer.Finish();
  SOCKRPC_RETURN_IF_ERROR(ExpectCode("StreamingInputCall", summary.status(),
                                     absl::StatusCode::kCancelled));

  // Cancelling one call leaves the channel usable for the next.
  ClientContext next;
  Bound(options, &next);
  return ExpectOk("EmptyCall after the cancel",
                  client->stub->EmptyCall(&next, Nothing()).status());
}

absl::Status CancelAfterFirstResponse(const CaseOptions& options) {
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());
  ClientContext context;
  Bound(options, &context);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      client->stub->FullDuplexCall(&context);
  INTEROP_EXPECT(stream.Write(MakeDuplexRequest(0)),
                 "Write failed: ", stream.Finish().ToString());
  StreamChunk chunk;
  INTEROP_EXPECT(stream.Read(&chunk),
                 "no first reply: ", stream.Finish().ToString());
  SOCKRPC_RETURN_IF_ERROR(CheckChunk(chunk, 0, kReplySizes[0]));
  context.TryCancel();
  INTEROP_EXPECT(!stream.Write(MakeDuplexRequest(1)),
                 "Write succeeded after the call was cancelled");
  INTEROP_EXPECT(!stream.Read(&chunk), "a reply (index ", chunk.index(),
                 ") after the call was cancelled");
  SOCKRPC_RETURN_IF_ERROR(ExpectCode("FullDuplexCall", stream.Finish(),
                                     absl::StatusCode::kCancelled));

  ClientContext next;
  Bound(options, &next);
  return ExpectOk("EmptyCall after the cancel",
                  client->stub->EmptyCall(&next, Nothing()).status());
}

absl::Status ConcurrentStreams(const CaseOptions& options) {
  constexpr int kStreams = 100;
  constexpr int kRounds = 4;
  absl::StatusOr<Client> client = Connect(options);
  SOCKRPC_RETURN_IF_ERROR(client.status());

  // Every stream gets its first reply, then waits at the gate until all
  // are open at once, then finishes its rounds. Sizes differ per stream so
  // that crossed replies show.
  Gate gate(kStreams);
  const absl::Time gate_deadline = absl::Now() + options.call_timeout;
  std::vector<absl::Status> results(kStreams);
  auto run_stream = [&](int s) -> absl::Status {
    bool at_gate = false;
    auto leave_gate = [&] {
      if (!at_gate) gate.Leave();
      at_gate = true;
    };
    ClientContext context;
    Bound(options, &context);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        client->stub->FullDuplexCall(&context);
    for (int round = 0; round < kRounds; ++round) {
      DuplexRequest request;
      request.set_body(Pattern(s * 10 + round, s));
      const uint32_t reply_size = 1000 + s * 37 + round;
      request.set_reply_size(reply_size);
      if (!stream.Write(request)) {
        leave_gate();
        return absl::InternalError(
            absl::StrCat("stream ", s, ": Write ", round,
                         " failed: ", stream.Finish().ToString()));
      }
      StreamChunk chunk;
      if (!stream.Read(&chunk)) {
        leave_gate();
        return absl::InternalError(absl::StrCat("stream ", s, ": no reply ",
                                                round, ": ",
                                                stream.Finish().ToString()));
      }
      absl::Status checked = CheckChunk(chunk, round, reply_size);
      if (!checked.ok()) {
        leave_gate();
        return absl::InternalError(
            absl::StrCat("stream ", s, ": ", checked.message()));
      }
      if (round == 0) {
        at_gate = true;
        if (!gate.ArriveAndWait(gate_deadline)) {
          return absl::DeadlineExceededError(absl::StrCat(
              "stream ", s, ": only ", gate.arrived(), " of ", kStreams,
              " streams were open at once by the deadline (does the "
              "server allow that many handlers?)"));
        }
      }
    }
    absl::Status finished = FinishCleanly(absl::StrCat("stream ", s), stream);
    leave_gate();
    return finished;
  };

  std::vector<std::thread> threads;
  threads.reserve(kStreams);
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] { results[s] = run_stream(s); });
  }
  for (std::thread& thread : threads) thread.join();

  int failed = 0;
  absl::Status first_failure;
  for (const absl::Status& result : results) {
    if (result.ok()) continue;
    if (failed++ == 0) first_failure = result;
  }
  if (failed > 0) {
    return absl::Status(
        first_failure.code(),
        absl::StrCat(failed, " of ", kStreams,
                     " streams failed; the first: ", first_failure.message()));
  }
  return absl::OkStatus();
}

}  // namespace interop
}  // namespace sockrpc
