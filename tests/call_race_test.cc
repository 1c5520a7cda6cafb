// Cancellation and deadlines racing with a handler's replies, repeated
// many times, in one process: a real Server and Channel over a unix socket
// in a temp dir. Whatever the interleaving, no crash, no hang, every call
// ends with a definite status (OK or the one its cancel or deadline
// implies), every handler returns, and the channel stays usable.
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/local_server.h"
#include "transport/address.h"
#include "transport/socket.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::ClientReaderWriter;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerReaderWriter;
using ::sockrpc::ServerWriter;
using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::InteropService;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::testing::LocalServer;

constexpr int kCancelIterations = 200;
constexpr int kDeadlineIterations = 60;
constexpr int kShutdownIterations = 30;
// Bounds each call, so a hang shows as DEADLINE_EXCEEDED where CANCELLED
// was due, and waits for handlers; reached only when something is broken.
constexpr absl::Duration kBound = absl::Seconds(10);
// How long a cancelled call may take to end: generous for a loaded
// machine, far below kBound.
constexpr absl::Duration kPrompt = absl::Seconds(2);

// The interop service, counting handler entries and exits.
class CountingService : public InteropService {
 public:
  absl::Status UnaryCall(ServerContext* context, const UnaryRequest& request,
                         UnaryReply* reply) override {
    Counted counted(this);
    return InteropService::UnaryCall(context, request, reply);
  }
  absl::Status StreamingOutputCall(ServerContext* context,
                                   const DownloadRequest& request,
                                   ServerWriter<StreamChunk>* writer) override {
    Counted counted(this);
    return InteropService::StreamingOutputCall(context, request, writer);
  }
  absl::Status FullDuplexCall(
      ServerContext* context,
      ServerReaderWriter<StreamChunk, DuplexRequest>* stream) override {
    Counted counted(this);
    return InteropService::FullDuplexCall(context, stream);
  }

  int started() const { return started_; }
  int ended() const { return ended_; }

  // Waits until every handler that started has returned.
  bool WaitForHandlers(absl::Duration timeout) const {
    const absl::Time give_up = absl::Now() + timeout;
    while (ended_ != started_) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

 private:
  struct Counted {
    explicit Counted(CountingService* s) : service(s) { ++service->started_; }
    ~Counted() { ++service->ended_; }
    CountingService* service;
  };
  std::atomic<int> started_{0};
  std::atomic<int> ended_{0};
};

class CallRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    stub_ = std::make_unique<InteropTest::Stub>(channel_);
  }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    if (server_ == nullptr) return;
    // Every call has ended, so shutdown is prompt.
    absl::Time start = absl::Now();
    server_->server().Shutdown(absl::Now() + absl::Seconds(5));
    EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  }

  // The channel still serves calls.
  void ExpectChannelWorks() {
    ClientContext context;
    context.set_timeout(kBound);
    absl::Status status = stub_->EmptyCall(&context, Nothing()).status();
    EXPECT_TRUE(status.ok()) << status;
  }

  CountingService service_;
  std::unique_ptr<LocalServer> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<InteropTest::Stub> stub_;
};

// A cancel's outcome: CANCELLED, or OK if the call completed first.
void ExpectCancelledOrComplete(const absl::Status& status, bool complete,
                               int iteration) {
  if (status.ok()) {
    EXPECT_TRUE(complete) << "iteration " << iteration
                          << ": OK, but not every reply arrived";
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kCancelled)
        << "iteration " << iteration << ": " << status;
  }
}

TEST_F(CallRaceTest, CancelWhileTheHandlerReplies) {
  std::mt19937 random(20240611);
  constexpr int kReplies = 500;
  for (int i = 0; i < kCancelIterations; ++i) {
    const int delay_us = std::uniform_int_distribution<int>(0, 2000)(random);
    const int reads = std::uniform_int_distribution<int>(0, 8)(random);
    const absl::Time iteration_start = absl::Now();
    ClientContext context;
    context.set_timeout(kBound);
    // The cancel comes from another thread after a random delay, while
    // this thread reads (or writes) and the handler replies.
    std::thread canceller([&context, delay_us] {
      absl::SleepFor(absl::Microseconds(delay_us));
      context.TryCancel();
    });
    switch (i % 3) {
      case 0: {  // server streaming
        DownloadRequest request;
        for (int r = 0; r < kReplies; ++r) request.add_reply_sizes(512);
        ClientReader<StreamChunk> reader =
            stub_->StreamingOutputCall(&context, request);
        StreamChunk chunk;
        int received = 0;
        while (reader.Read(&chunk)) {
          ASSERT_EQ(chunk.index(), static_cast<uint32_t>(received));
          ++received;
        }
        ExpectCancelledOrComplete(reader.Finish(), received == kReplies, i);
        break;
      }
      case 1: {  // bidi, writing and reading as fast as it goes
        ClientReaderWriter<DuplexRequest, StreamChunk> stream =
            stub_->FullDuplexCall(&context);
        DuplexRequest request;
        request.set_reply_size(256);
        int received = 0;
        for (int r = 0; r < reads + 50; ++r) {
          if (!stream.Write(request)) break;
          StreamChunk chunk;
          if (!stream.Read(&chunk)) break;
          ASSERT_EQ(chunk.index(), static_cast<uint32_t>(received));
          ++received;
        }
        bool complete = received == reads + 50 && stream.WritesDone();
        StreamChunk extra;
        while (stream.Read(&extra)) complete = false;
        ExpectCancelledOrComplete(stream.Finish(), complete, i);
        break;
      }
      case 2: {  // unary with a large reply
        UnaryRequest request;
        request.set_reply_size(1 << 20);
        absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
        ExpectCancelledOrComplete(
            reply.status(), reply.ok() && reply->body().size() == (1u << 20),
            i);
        break;
      }
    }
    canceller.join();
    if (HasFatalFailure()) return;
    // A cancelled call ends at once; one that waits out its deadline
    // instead missed the cancel.
    const absl::Duration took = absl::Now() - iteration_start;
    EXPECT_LT(took, kPrompt)
        << "iteration " << i << " (kind " << i % 3 << ", cancelled after "
        << delay_us << " us) took " << absl::FormatDuration(took);
  }
  EXPECT_TRUE(service_.WaitForHandlers(kBound))
      << service_.started() - service_.ended()
      << " handlers still running after their calls were cancelled";
  ExpectChannelWorks();
}

TEST_F(CallRaceTest, CancelFromTheReadingThreadMidStream) {
  std::mt19937 random(7);
  for (int i = 0; i < kCancelIterations; ++i) {
    const int reads = std::uniform_int_distribution<int>(0, 20)(random);
    ClientContext context;
    context.set_timeout(kBound);
    DownloadRequest request;
    for (int r = 0; r < 1000; ++r) request.add_reply_sizes(1024);
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, request);
    StreamChunk chunk;
    for (int r = 0; r < reads; ++r) {
      ASSERT_TRUE(reader.Read(&chunk))
          << "iteration " << i << ": " << reader.Finish();
    }
    const absl::Time cancelled_at = absl::Now();
    reader.Cancel();
    int after = 0;
    while (reader.Read(&chunk)) ++after;
    absl::Status status = reader.Finish();
    EXPECT_EQ(status.code(), absl::StatusCode::kCancelled)
        << "iteration " << i << " (" << after
        << " replies read after the cancel): " << status;
    EXPECT_LT(absl::Now() - cancelled_at, kPrompt) << "iteration " << i;
  }
  EXPECT_TRUE(service_.WaitForHandlers(kBound));
  ExpectChannelWorks();
}

TEST_F(CallRaceTest, DeadlineExpiresMidStream) {
  std::mt19937 random(99);
  for (int i = 0; i < kDeadlineIterations; ++i) {
    const absl::Duration timeout = absl::Microseconds(
        std::uniform_int_distribution<int>(1, 30000)(random));
    ClientContext context;
    context.set_timeout(timeout);
    absl::Time start = absl::Now();
    absl::Status status;
    if (i % 2 == 0) {
      // The server replies every millisecond, a thousand times: the
      // deadline always falls mid-stream.
      DownloadRequest request;
      for (int r = 0; r < 1000; ++r) request.add_reply_sizes(100);
      request.set_pause_us(1000);
      ClientReader<StreamChunk> reader =
          stub_->StreamingOutputCall(&context, request);
      StreamChunk chunk;
      while (reader.Read(&chunk)) {
      }
      status = reader.Finish();
    } else {
      // Bidi ping-pong until the deadline stops it.
      ClientReaderWriter<DuplexRequest, StreamChunk> stream =
          stub_->FullDuplexCall(&context);
      DuplexRequest request;
      request.set_reply_size(2000);
      StreamChunk chunk;
      while (stream.Write(request) && stream.Read(&chunk)) {
      }
      status = stream.Finish();
    }
    absl::Duration elapsed = absl::Now() - start;
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded)
        << "iteration " << i << " (timeout " << absl::FormatDuration(timeout)
        << "): " << status;
    EXPECT_LT(elapsed, timeout + absl::Seconds(2))
        << "iteration " << i << " ended long after its deadline";
  }
  EXPECT_TRUE(service_.WaitForHandlers(kBound))
      << service_.started() - service_.ended()
      << " handlers still running after their deadlines";
  ExpectChannelWorks();
}

// Shutdown closes the listening socket while clients keep connecting: the
// server thread accepting them must be done with the listener first (under
// TSan, a close racing an accept4() on the same descriptor is reported;
// without it, the accept could run on a descriptor number reused since).
TEST(ShutdownRaceTest, ShutdownWhileClientsConnect) {
  for (int i = 0; i < kShutdownIterations; ++i) {
    CountingService service;
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service});
    ASSERT_TRUE(server.ok()) << server.status();
    absl::StatusOr<sockrpc::Address> address =
        sockrpc::ParseAddress((*server)->address());
    ASSERT_TRUE(address.ok()) << address.status();
    std::atomic<bool> stop{false};
    std::atomic<int> connected{0};
    std::thread connector([&] {
      // Bounded: stops at the first refusal after shutdown, or at 5000.
      for (int n = 0; n < 5000 && !stop.load(); ++n) {
        absl::StatusOr<sockrpc::Fd> fd =
            sockrpc::Connect(*address, absl::Now() + kBound);
        if (!fd.ok()) break;
        connected.fetch_add(1);
      }
    });
    // Shut down once connections are streaming in.
    const absl::Time until = absl::Now() + kBound;
    while (connected.load() < 20 && absl::Now() < until) {
      std::this_thread::yield();
    }
    EXPECT_GE(connected.load(), 20) << "iteration " << i;
    const absl::Time start = absl::Now();
    (*server)->server().Shutdown(absl::Now() + absl::Seconds(2));
    EXPECT_LT(absl::Now() - start, absl::Seconds(6)) << "iteration " << i;
    stop.store(true);
    connector.join();
  }
}

}  // namespace
