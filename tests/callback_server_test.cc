// The server's callback API end to end, in one process: a real Server and
// Channel over a unix socket in a temp dir, serving Meter
// (tests/protos/streaming.proto) through reactors. Each test checks rules of
// server/server_callback.h: calls finished later from another thread,
// writes held by flow control and sent in order before STATUS, reads one at
// a time, cancel, deadline and disconnect reaching the reactor, badly
// behaved reactors (Finish twice, write after Finish, never finishing), the
// blocking form a callback method may fall back to, and thousands of open
// calls served by a handful of threads.
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

TEST_F(CallbackServerTest, UnaryFinishedInsideTheHandler) {
  StartServer();
  absl::StatusOr<Reading> reply = stub_->Latest(Mode("inline"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->sensor(), "inline");
  EXPECT_EQ(reply->value(), 1);
  absl::StatusOr<Reading> failed = stub_->Latest(Mode("fail"));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(failed.status().message(), "no sensor called fail");
}

TEST_F(CallbackServerTest, UnaryFinishedLaterFromAnotherThreadHoldsNoThread) {
  // One thread may run handlers; every "later" call waits without one, and
  // other calls are served meanwhile.
  ServerOptions options;
  options.max_threads = 1;
  StartServer(options);
  constexpr int kWaiting = 50;
  std::vector<::sockrpc::UnaryFuture<Reading>> waiting;
  for (int i = 0; i < kWaiting; ++i) {
    waiting.push_back(stub_->AsyncLatest(Mode("later")));
  }
  ASSERT_TRUE(service_.probe().WaitFor("later-started", kWaiting));
  absl::StatusOr<Reading> other = stub_->Latest(Mode("inline"));
  ASSERT_TRUE(other.ok()) << other.status();
  std::thread finisher([this] { service_.FinishLater(7); });
  finisher.join();
  for (auto& call : waiting) {
    absl::StatusOr<Reading> reply = call.Get();
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->value(), 7);
  }
}

TEST_F(CallbackServerTest, NullReactorRunsTheBlockingForm) {
  StartServer();
  absl::StatusOr<Reading> reply = stub_->Latest(Mode("blocking"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->sensor(), "blocking form");
  EXPECT_EQ(reply->value(), 42);
}

TEST_F(CallbackServerTest, NullWriteReactorRunsTheBlockingFormAndSendsItsWrites) {
  StartServer();
  constexpr int kWrites = 3;
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientReader<Reading> reader =
      stub_->Watch(&context, Mode("blocking", kWrites));
  Reading reading;
  int received = 0;
  while (reader.Read(&reading)) {
    EXPECT_EQ(reading.sensor(), "blocking form");
    EXPECT_EQ(reading.value(), received);
    ++received;
  }
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_EQ(received, kWrites) << "the writes, and nothing after them";
}

TEST_F(CallbackServerTest, FullHandlerPoolLeavesCallbacksAndCancelsServed) {
  // Two handler slots, five blocking calls that hold theirs until
  // cancelled: three wait for a slot.
  ServerOptions options;
  options.max_threads = 2;
  StartServer(options);
  std::unique_ptr<Meter::Stub> hog = NewStub();
  std::vector<::sockrpc::UnaryFuture<Reading>> blocked;
  for (int i = 0; i < 5; ++i)
    blocked.push_back(hog->AsyncLatest(Mode("block")));
  ASSERT_TRUE(service_.probe().WaitFor("block-started", 2));
  // Callback calls need no slot. (The blocked handlers wait far longer
  // than these calls' deadlines: a server that needs a thread per call
  // cannot serve them.)
  ClientContext served_context;
  served_context.set_timeout(absl::Seconds(5));
  absl::StatusOr<Reading> served =
      stub_->Latest(&served_context, Mode("inline"));
  ASSERT_TRUE(served.ok()) << served.status();
  // Nor does reflection.
  absl::StatusOr<std::shared_ptr<::sockrpc::Channel>> channel =
      server_->NewChannel();
  ASSERT_TRUE(channel.ok()) << channel.status();
  ::sockrpc::reflection::v1::Reflection::Stub reflection(*channel);
  ClientContext reflection_context;
  reflection_context.set_timeout(absl::Seconds(5));
  auto services = reflection.ListServices(
      &reflection_context, ::sockrpc::reflection::v1::ListServicesRequest());
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_GE(services->services_size(), 2);  // Meter and reflection
  // The hog leaves: its handlers are cancelled, its waiting calls dropped,
  // and a blocking call of another client gets a slot.
  hog.reset();
  for (auto& call : blocked) call.Cancel();
  ClientContext blocking_context;
  blocking_context.set_timeout(absl::Seconds(5));
  absl::StatusOr<Reading> blocking =
      stub_->Latest(&blocking_context, Mode("blocking"));
  ASSERT_TRUE(blocking.ok()) << blocking.status();
  EXPECT_EQ(blocking->value(), 42);
  ASSERT_TRUE(service_.probe().WaitFor(
      "block-ended", service_.probe().count("block-started")));
}

TEST_F(CallbackServerTest, SecondFinishIsIgnoredAndLogged) {
  StartServer();
  absl::StatusOr<Reading> reply = stub_->Latest(Mode("twice"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->value(), 1);
  EXPECT_TRUE(Logged("Finish() twice"));
}

TEST_F(CallbackServerTest, WritesBeyondTheWindowAreHeldAndLeaveInOrder) {
  StartServer();
  // 200 writes of 10 KB, 2 MB in all: far beyond one window, all started
  // at once with Finish() right behind them.
  constexpr int kWrites = 200;
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientReader<Reading> reader = stub_->Watch(&context, Mode("burst", kWrites));
  Reading reading;
  int received = 0;
  while (reader.Read(&reading)) {
    ASSERT_EQ(reading.value(), received);
    ASSERT_EQ(reading.sensor().size(), 10000u);
    ++received;
  }
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_EQ(received, kWrites);
  ASSERT_TRUE(service_.probe().WaitFor("watch-done", 1));
  EXPECT_EQ(service_.probe().count("write-ok"), kWrites);
}

TEST_F(CallbackServerTest, WriteAfterFinishFails) {
  StartServer();
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientReader<Reading> reader = stub_->Watch(&context, Mode("after-finish"));
  Reading reading;
  EXPECT_FALSE(reader.Read(&reading));
  EXPECT_TRUE(reader.Finish().ok());
  ASSERT_TRUE(service_.probe().WaitFor("watch-done", 1));
  EXPECT_EQ(service_.probe().count("write-failed"), 1);
}

TEST_F(CallbackServerTest, ReadReactorSumsTheClientsStream) {
  StartServer();
  ClientContext context;
  context.set_timeout(kTimeout);
  auto writer = stub_->Record(&context);
  for (int i = 1; i <= 100; ++i) {
    Reading reading;
    reading.set_value(i);
    ASSERT_TRUE(writer.Write(reading));
  }
  absl::StatusOr<Summary> summary = writer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->count(), 100);
  EXPECT_EQ(summary->total(), 5050);
}

TEST_F(CallbackServerTest, BidiReadsOneAtATimeAndEchoes) {
  StartServer();
  ClientContext context;
  context.set_timeout(kTimeout);
  auto stream = stub_->Control(&context);
  Reading reading;
  // Nothing sent yet: the reactor's second StartRead() failed at once.
  ASSERT_TRUE(stream.Read(&reading));
  EXPECT_EQ(reading.sensor(), "refused");
  for (int i = 0; i < 20; ++i) {
    Command command;
    command.set_text(absl::StrCat("command ", i));
    ASSERT_TRUE(stream.Write(command));
    ASSERT_TRUE(stream.Read(&reading));
    EXPECT_EQ(reading.sensor(), command.text());
  }
  ASSERT_TRUE(stream.WritesDone());
  EXPECT_FALSE(stream.Read(&reading));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST_F(CallbackServerTest, DeadlineReachesTheReactorAsOnCancel) {
  StartServer();
  ClientContext context;
  context.set_timeout(absl::Milliseconds(50));
  absl::StatusOr<Reading> reply = stub_->Latest(&context, Mode("cancel"));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(service_.probe().WaitFor("unary-done", 1));
  EXPECT_EQ(service_.probe().count("unary-cancel"), 1);
}

TEST_F(CallbackServerTest, ClientCancelAndDisconnectReachTheReactor) {
  StartServer();
  {
    ClientContext context;
    ClientReader<Reading> reader = stub_->Watch(&context, Mode("cancel"));
    ASSERT_TRUE(service_.probe().WaitFor("watch-started", 1));
    reader.Cancel();
    ASSERT_TRUE(service_.probe().WaitFor("watch-done", 1));
    EXPECT_EQ(service_.probe().count("watch-cancel"), 1);
  }
  {
    std::unique_ptr<Meter::Stub> other = NewStub();
    ClientContext context;
    ClientReader<Reading> reader = other->Watch(&context, Mode("cancel"));
    ASSERT_TRUE(service_.probe().WaitFor("watch-started", 2));
    other.reset();  // the channel goes, and the connection with it
    reader.Cancel();
  }
  ASSERT_TRUE(service_.probe().WaitFor("watch-done", 2));
  EXPECT_EQ(service_.probe().count("watch-cancel"), 2);
}

TEST_F(CallbackServerTest, ReactorThatNeverFinishesEndsAtShutdown) {
  StartServer();
  ClientContext context;
  ClientReader<Reading> reader = stub_->Watch(&context, Mode("never"));
  ASSERT_TRUE(service_.probe().WaitFor("watch-started", 1));
  auto unary = stub_->AsyncLatest(Mode("never"));
  ASSERT_TRUE(service_.probe().WaitFor("unary-started", 1));
  server_->server().Shutdown(absl::Now());
  // OnCancel() then OnDone(), both before Shutdown() returned.
  EXPECT_EQ(service_.probe().count("watch-cancel"), 1);
  EXPECT_EQ(service_.probe().count("watch-done"), 1);
  EXPECT_EQ(service_.probe().count("unary-cancel"), 1);
  EXPECT_EQ(service_.probe().count("unary-done"), 1);
  EXPECT_TRUE(Logged("never called Finish()"));
  Reading reading;
  EXPECT_FALSE(reader.Read(&reading));
  EXPECT_EQ(reader.Finish().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(unary.Get().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sockrpc::test::streaming
