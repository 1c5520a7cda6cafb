// The server's callback API end to end (see callback_server_testing.h):
// Shutdown() waiting for callback calls, Finish() racing the client's
// cancel and deadline, and thousands of open calls on a handful of threads.
#include "tests/callback_server_testing.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sockrpc::test::streaming {
namespace {

TEST_F(CallbackServerTest, ShutdownWithNoArgumentWaitsForCallsInFlight) {
  StartServer();
  auto waiting = stub_->AsyncLatest(Mode("later"));
  ASSERT_TRUE(service_.probe().WaitFor("later-started", 1));
  std::atomic<bool> returned{false};
  std::thread shutdown([&] {
    server_->server().Shutdown();
    returned = true;
  });
  // Once new calls are refused, Shutdown() is waiting for the open one.
  absl::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    refused = stub_->Latest(Mode("inline")).status();
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(returned);
  service_.FinishLater(3);
  shutdown.join();
  EXPECT_TRUE(returned);
  absl::StatusOr<Reading> reply = waiting.Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->value(), 3);
}

TEST_F(CallbackServerTest, FinishRacingCancelAndDeadlineEndsEachCallOnce) {
  // Each call is finished by a server-side thread while the client cancels
  // it or its deadline passes, in every order: each ends once, with OK or
  // the client's reason, and each reactor is done exactly once. Nothing
  // holds OnDone() back while that thread's Finish() returns, so a call
  // state touched after its end shows up under ASan and TSan.
  StartServer();
  constexpr int kCalls = 600;
  std::atomic<bool> stop{false};
  std::thread finisher([&] {
    while (!stop) {
      if (service_.FinishRacing() == 0) std::this_thread::yield();
    }
  });
  // In waves of 100, so that the client never waits for room in the
  // socket (a call whose deadline passes then fails its whole connection).
  constexpr int kWave = 100;
  int ok = 0;
  for (int wave = 0; wave < kCalls; wave += kWave) {
    std::vector<std::unique_ptr<ClientContext>> contexts;
    std::vector<::sockrpc::UnaryFuture<Reading>> calls;
    for (int i = wave; i < wave + kWave; ++i) {
      contexts.push_back(std::make_unique<ClientContext>());
      if (i % 3 == 1) contexts.back()->set_timeout(absl::Microseconds(i));
      calls.push_back(
          stub_->AsyncLatest(contexts.back().get(), Mode("race", i)));
      if (i % 3 == 2) contexts.back()->TryCancel();
    }
    for (int i = wave; i < wave + kWave; ++i) {
      absl::StatusOr<Reading> reply = calls[i - wave].Get();
      if (reply.ok()) {
        ++ok;
        EXPECT_EQ(reply->value(), i);
        continue;
      }
      const absl::StatusCode expected =
          i % 3 == 1 ? absl::StatusCode::kDeadlineExceeded
                     : absl::StatusCode::kCancelled;
      EXPECT_EQ(reply.status().code(), expected) << i << " " << reply.status();
    }
  }
  EXPECT_GE(ok, kCalls / 3);  // those neither cancelled nor timed
  // Every reactor the server started is done, once.
  const int started = service_.probe().count("unary-started");
  ASSERT_TRUE(service_.probe().WaitFor("unary-done", started));
  stop = true;
  finisher.join();
  server_->server().Shutdown();
  // Counted again now that nothing can start: a call the client had
  // already given up on may reach the server after `started` was read
  // (CI once saw 369 done against 368 started then).
  EXPECT_EQ(service_.probe().count("unary-done"),
            service_.probe().count("unary-started"));
  // The server has shut down: its log is complete.
  EXPECT_FALSE(Logged("Finish() twice", absl::ZeroDuration()));
}

TEST_F(CallbackServerTest, TwoThousandOpenStreamsOnFourThreads) {
  ServerOptions options;
  options.max_threads = 4;
  StartServer(options);
  constexpr int kStreams = 2000;
  constexpr int kChannels = 4;  // under max_calls_per_connection each
  std::vector<std::unique_ptr<Meter::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) stubs.push_back(NewStub());
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::vector<ClientReader<Reading>> readers;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<ClientContext>());
    contexts.back()->set_timeout(kTimeout);
    readers.push_back(
        stubs[i % kChannels]->Watch(contexts.back().get(), Mode("subscribe")));
  }
  ASSERT_TRUE(service_.probe().WaitFor("watch-started", kStreams));
  ASSERT_EQ(service_.hub().size(), static_cast<size_t>(kStreams));
  // Every stream is open and none holds a thread: unary calls still pass.
  absl::StatusOr<Reading> other = stub_->Latest(Mode("inline"));
  ASSERT_TRUE(other.ok()) << other.status();
  for (int event = 0; event < 3; ++event) {
    service_.hub().Publish(event);
    for (auto& reader : readers) {
      Reading reading;
      ASSERT_TRUE(reader.Read(&reading));
      ASSERT_EQ(reading.value(), event);
    }
  }
  service_.hub().FinishAll();
  for (auto& reader : readers) {
    Reading reading;
    EXPECT_FALSE(reader.Read(&reading));
    EXPECT_TRUE(reader.Finish().ok());
  }
  ASSERT_TRUE(service_.probe().WaitFor("watch-done", kStreams));
  EXPECT_EQ(service_.probe().count("write-ok"), 3 * kStreams);
}

}  // namespace
}  // namespace sockrpc::test::streaming
