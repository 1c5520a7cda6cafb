// InteropCallbackService in one process: a real Server and Channel over a
// unix socket in a temp dir. The interop cases check what the service
// answers (interop_test runs them against both interop_server modes); these
// tests check what they cannot see: that every method is a callback method,
// that waits hold no thread, and that a call ending for the client while
// its timer is pending (deadline, cancel, server shutdown) ends at once,
// takes its timer back and finishes exactly once. The sanitizer builds add
// that no reactor is used after OnDone() or leaked.
#include "tests/interop/interop_callback_service.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "tests/testing/local_server.h"
#include "transport/sync.h"

namespace sockrpc::interop {
namespace {

using ::sockrpc::testing::LocalServer;

// Far below any wait the tests ask the server for (a minute; 40 sleeps
// one after another), far above the time a call takes to end once the
// client stops waiting, even under a sanitizer on a loaded machine.
constexpr absl::Duration kPromptly = absl::Seconds(10);
// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(30);

class InteropCallbackServiceTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = ServerOptions()) {
    options.log = [this](absl::string_view line) {
      MutexLock lock(&log_mu_);
      log_.push_back(std::string(line));
    };
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = NewStub();
  }
  std::unique_ptr<InteropTest::Stub> NewStub() {
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    EXPECT_TRUE(channel.ok()) << channel.status();
    return std::make_unique<InteropTest::Stub>(*channel);
  }
  void TearDown() override {
    stub_.reset();
    if (server_ == nullptr) return;
    // Every call ended with the test: no reactor holds up the shutdown,
    // and no timer is left behind.
    const absl::Time start = absl::Now();
    server_->server().Shutdown(absl::Now() + kTimeout);
    EXPECT_LT(absl::Now() - start, kPromptly);
    EXPECT_EQ(service_.pending_timers(), 0u);
    MutexLock lock(&log_mu_);
    for (const std::string& line : log_) {
      EXPECT_FALSE(absl::StrContains(line, "Finish()")) << line;
    }
  }

  // Waits until `n` timers are pending; false after kTimeout.
  bool WaitForPendingTimers(size_t n) {
    const absl::Time give_up = absl::Now() + kTimeout;
    while (service_.pending_timers() != n) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  static SleepRequest Sleep(absl::Duration sleep) {
    SleepRequest request;
    request.set_sleep_ms(
        static_cast<uint32_t>(absl::ToInt64Milliseconds(sleep)));
    return request;
  }
  static DownloadRequest Download(int replies, absl::Duration pause) {
    DownloadRequest request;
    for (int i = 0; i < replies; ++i) request.add_reply_sizes(100);
    request.set_pause_us(
        static_cast<uint32_t>(absl::ToInt64Microseconds(pause)));
    return request;
  }
  // Reads a download to its end; returns its status and counts its
  // replies into `*received`.
  static absl::Status ReadAll(ClientReader<StreamChunk>& reader,
                              int* received) {
    StreamChunk chunk;
    while (reader.Read(&chunk)) ++*received;
    return reader.Finish();
  }

  InteropCallbackService service_;  // outlives the server
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<InteropTest::Stub> stub_;
  Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

TEST_F(InteropCallbackServiceTest, EveryMethodIsServedThroughTheCallbackApi) {
  ASSERT_EQ(service_.methods().size(), 8u);
  for (const Service::Method& method : service_.methods()) {
    EXPECT_TRUE(method.callback) << method.full_name;
  }
  // Even the method nobody implements answers through a reactor, with the
  // generated status.
  StartServer();
  ClientContext context;
  context.set_timeout(kTimeout);
  absl::Status status = stub_->UnimplementedCall(&context, Nothing()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_EQ(status.message(),
            "method /sockrpc.interop.InteropTest/UnimplementedCall is not "
            "implemented");
}

TEST_F(InteropCallbackServiceTest, SleepingCallsHoldNoThread) {
  // One handler thread: calls that each held one for their sleep would
  // take kSleepers sleeps, one after another.
  ServerOptions options;
  options.max_threads = 1;
  StartServer(options);
  constexpr int kSleepers = 40;
  // One after another they would take 40 s.
  constexpr absl::Duration kSleep = absl::Seconds(1);
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::vector<UnaryFuture<Nothing>> sleepers;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kSleepers; ++i) {
    contexts.push_back(std::make_unique<ClientContext>());
    contexts.back()->set_timeout(kTimeout);
    sleepers.push_back(
        stub_->AsyncSleepCall(contexts.back().get(), Sleep(kSleep)));
  }
  for (auto& sleeper : sleepers) {
    absl::StatusOr<Nothing> reply = sleeper.Get();
    EXPECT_TRUE(reply.ok()) << reply.status();
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kSleep);
  EXPECT_LT(took, kSleep + kPromptly);
}

TEST_F(InteropCallbackServiceTest, DeadlineWhileTimerPendingEndsTheCallAtOnce) {
  StartServer();
  {
    ClientContext context;
    context.set_timeout(absl::Milliseconds(100));
    const absl::Time start = absl::Now();
    absl::Status status =
        stub_->SleepCall(&context, Sleep(absl::Minutes(1))).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_LT(absl::Now() - start, kPromptly);
  }
  {
    ClientContext context;
    context.set_timeout(absl::Milliseconds(100));
    const absl::Time start = absl::Now();
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, Download(3, absl::Minutes(1)));
    int received = 0;
    absl::Status status = ReadAll(reader, &received);
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_EQ(received, 0);
    EXPECT_LT(absl::Now() - start, kPromptly);
  }
  // The server ends each call at its deadline too, and takes its timer
  // back.
  EXPECT_TRUE(WaitForPendingTimers(0));
}

TEST_F(InteropCallbackServiceTest, CancelWhileTimerPendingEndsTheCallAtOnce) {
  StartServer();
  ClientContext sleep_context;
  sleep_context.set_timeout(kTimeout);
  UnaryFuture<Nothing> sleeper =
      stub_->AsyncSleepCall(&sleep_context, Sleep(absl::Minutes(1)));
  ClientContext stream_context;
  stream_context.set_timeout(kTimeout);
  // Its one reply would come after a minute.
  ClientReader<StreamChunk> reader = stub_->StreamingOutputCall(
      &stream_context, Download(1, absl::Minutes(1)));
  ASSERT_TRUE(WaitForPendingTimers(2));

  const absl::Time start = absl::Now();
  sleep_context.TryCancel();
  stream_context.TryCancel();
  EXPECT_EQ(sleeper.Get().status().code(), absl::StatusCode::kCancelled);
  int received = 0;
  EXPECT_EQ(ReadAll(reader, &received).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(received, 0);
  EXPECT_LT(absl::Now() - start, kPromptly);
  EXPECT_TRUE(WaitForPendingTimers(0));
}

TEST_F(InteropCallbackServiceTest, EndsRacingTheTimersFinishEachCallOnce) {
  // Deadlines and cancels that land about when the timers fire, so that
  // OnCancel() meets timers pending, running and just run. Each call ends
  // once (TearDown: no "Finish() twice" in the log), with its timer taken
  // back or run, and no reactor is touched after OnDone() (ASan, TSan).
  StartServer();
  constexpr int kWaves = 6;
  constexpr int kCallsPerWave = 40;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> threads;
    std::atomic<int> unexpected{0};
    for (int i = 0; i < kCallsPerWave; ++i) {
      threads.emplace_back([&, i] {
        const absl::Duration jitter = absl::Microseconds((i * 613) % 4000);
        ClientContext context;
        context.set_timeout(absl::Milliseconds(4) + jitter);
        std::thread canceller;
        if (i % 3 == 0) {
          canceller = std::thread([&context, jitter] {
            absl::SleepFor(absl::Milliseconds(2) + jitter);
            context.TryCancel();
          });
        }
        absl::Status status;
        if (i % 2 == 0) {
          status =
              stub_->SleepCall(&context, Sleep(absl::Milliseconds(5))).status();
        } else {
          ClientReader<StreamChunk> reader = stub_->StreamingOutputCall(
              &context, Download(4, absl::Microseconds(1500)));
          int received = 0;
          status = ReadAll(reader, &received);
        }
        if (canceller.joinable()) canceller.join();
        if (!status.ok() && status.code() != absl::StatusCode::kCancelled &&
            status.code() != absl::StatusCode::kDeadlineExceeded) {
          ADD_FAILURE() << "call " << i << ": " << status;
          unexpected.fetch_add(1);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(unexpected.load(), 0) << "wave " << wave;
  }
  EXPECT_TRUE(WaitForPendingTimers(0));
}

TEST_F(InteropCallbackServiceTest, ShutdownWithTimersPendingEndsEveryCall) {
  StartServer();
  constexpr int kSleepers = 20;
  constexpr int kDownloads = 5;
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::vector<UnaryFuture<Nothing>> sleepers;
  for (int i = 0; i < kSleepers; ++i) {
    contexts.push_back(std::make_unique<ClientContext>());
    contexts.back()->set_timeout(kTimeout);
    sleepers.push_back(
        stub_->AsyncSleepCall(contexts.back().get(), Sleep(absl::Minutes(1))));
  }
  std::vector<absl::Status> download_status(kDownloads);
  std::vector<std::thread> downloads;
  for (int i = 0; i < kDownloads; ++i) {
    downloads.emplace_back([&, i] {
      ClientContext context;
      context.set_timeout(kTimeout);
      ClientReader<StreamChunk> reader =
          stub_->StreamingOutputCall(&context, Download(2, absl::Minutes(1)));
      int received = 0;
      download_status[i] = ReadAll(reader, &received);
    });
  }
  // Every call is in the server, waiting on its timer.
  ASSERT_TRUE(WaitForPendingTimers(kSleepers + kDownloads));

  const absl::Time start = absl::Now();
  server_->server().Shutdown(absl::Now() + absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, kPromptly);
  EXPECT_EQ(service_.pending_timers(), 0u);
  for (auto& sleeper : sleepers) {
    EXPECT_EQ(sleeper.Get().status().code(), absl::StatusCode::kUnavailable);
  }
  for (std::thread& thread : downloads) thread.join();
  for (const absl::Status& status : download_status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
}

}  // namespace
}  // namespace sockrpc::interop
