// The server's callback API end to end, in one process: a real Server and
// Channel over a unix socket in a temp dir, serving Meter
// (tests/protos/streaming.proto) through reactors. Each test checks rules of
// server/server_callback.h: calls finished later from another thread,
// writes held by flow control and sent in order before STATUS, reads one at
// a time, cancel, deadline and disconnect reaching the reactor, badly
// behaved reactors (Finish twice, write after Finish, never finishing), the
// blocking form a callback method may fall back to, and thousands of open
// calls served by a handful of threads.
#include <algorithm>
#include <atomic>
#include <map>
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
#include "server/server.h"
#include "server/server_callback.h"
#include "sockrpc/reflection.sockrpc.pb.h"
#include "streaming.pb.h"
#include "streaming.sockrpc.pb.h"
#include "tests/testing/temp_dir.h"
#include "transport/sync.h"

namespace sockrpc::test::streaming {
namespace {

using ::sockrpc::CallbackServerContext;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::Mutex;
using ::sockrpc::MutexLock;
using ::sockrpc::Server;
using ::sockrpc::ServerBidiReactor;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerOptions;
using ::sockrpc::ServerReadReactor;
using ::sockrpc::ServerUnaryReactor;
using ::sockrpc::ServerWriteReactor;
using ::sockrpc::testing::TempDir;

// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(30);

// Counts what the reactors report, for the tests to wait on.
class Probe {
 public:
  void Count(const std::string& event) {
    MutexLock lock(&mu_);
    ++counts_[event];
  }
  int count(const std::string& event) {
    MutexLock lock(&mu_);
    return counts_[event];
  }
  // Waits until `event` was counted `n` times; false after kTimeout.
  bool WaitFor(const std::string& event, int n) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return counts_[event] >= n; },
        absl::Now() + kTimeout);
  }

 private:
  Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
};

// Watchers subscribed to events, as a daemon's event stream would keep
// them.
class Hub {
 public:
  void Add(ServerWriteReactor<Reading>* watcher) {
    MutexLock lock(&mu_);
    watchers_.push_back(watcher);
  }
  // False if `watcher` was gone already (Publish or FinishAll took it).
  bool Remove(ServerWriteReactor<Reading>* watcher) {
    MutexLock lock(&mu_);
    for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
      if (*it == watcher) {
        watchers_.erase(it);
        return true;
      }
    }
    return false;
  }
  size_t size() {
    MutexLock lock(&mu_);
    return watchers_.size();
  }
  void Publish(double value) {
    Reading event;
    event.set_sensor("event");
    event.set_value(value);
    MutexLock lock(&mu_);
    for (ServerWriteReactor<Reading>* watcher : watchers_) {
      watcher->StartWrite(&event);  // serialized now: `event` may go
    }
  }
  void FinishAll() {
    MutexLock lock(&mu_);  // Finish() runs no reaction: safe under the lock
    for (ServerWriteReactor<Reading>* watcher : watchers_) {
      watcher->Finish(absl::OkStatus());
    }
    watchers_.clear();
  }

 private:
  Mutex mu_;
  std::vector<ServerWriteReactor<Reading>*> watchers_ ABSL_GUARDED_BY(mu_);
};

// A unary reactor that reports its cancel and its end; with `finish_on_cancel`
// it finishes when cancelled, else never.
class CountingUnary : public ServerUnaryReactor {
 public:
  CountingUnary(Probe* probe, bool finish_on_cancel)
      : probe_(probe), finish_on_cancel_(finish_on_cancel) {
    probe_->Count("unary-started");
  }
  void OnCancel() override {
    probe_->Count("unary-cancel");
    if (finish_on_cancel_) Finish(absl::CancelledError("cancelled"));
  }
  void OnDone() override {
    probe_->Count("unary-done");
    delete this;
  }

 private:
  Probe* const probe_;
  const bool finish_on_cancel_;
};

// Watch: request.sensor picks the behaviour.
//   "burst":     request.count writes of 10 KB at once (one Reading object
//                reused), then Finish(OK) at once.
//   "subscribe": joins the hub; the test publishes and finishes.
//   "after-finish": Finish(OK), then a write that must fail.
//   "cancel":    waits; finishes when cancelled.
//   "never":     waits, and never finishes.
class Watcher : public ServerWriteReactor<Reading> {
 public:
  Watcher(Probe* probe, Hub* hub, const WatchRequest& request)
      : probe_(probe), hub_(hub), mode_(request.sensor()) {
    if (mode_ == "burst") {
      Reading reading;
      reading.set_sensor(std::string(10000, 'r'));
      for (int i = 0; i < request.count(); ++i) {
        reading.set_value(i);
        StartWrite(&reading);
      }
      Finish(absl::OkStatus());
    } else if (mode_ == "subscribe") {
      hub_->Add(this);
    } else if (mode_ == "after-finish") {
      Finish(absl::OkStatus());
      Reading late;
      StartWrite(&late);
    }
    probe_->Count("watch-started");
  }
  void OnWriteDone(bool ok) override {
    probe_->Count(ok ? "write-ok" : "write-failed");
  }
  void OnCancel() override {
    probe_->Count("watch-cancel");
    if (mode_ == "subscribe" && !hub_->Remove(this)) return;  // finished
    if (mode_ != "never") Finish(absl::CancelledError("cancelled"));
  }
  void OnDone() override {
    probe_->Count("watch-done");
    delete this;
  }

 private:
  Probe* const probe_;
  Hub* const hub_;
  const std::string mode_;
};

// Record: adds up the readings until the client's last.
class Summer : public ServerReadReactor<Reading> {
 public:
  explicit Summer(Summary* reply) : reply_(reply) { StartRead(&reading_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    reply_->set_count(reply_->count() + 1);
    reply_->set_total(reply_->total() + reading_.value());
    StartRead(&reading_);
  }
  void OnDone() override { delete this; }

 private:
  Summary* const reply_;
  Reading reading_;
};

// Control: starts two reads at once, so the second fails at once and says
// "refused"; then echoes each command, and finishes after the client's
// last.
class Echo : public ServerBidiReactor<Command, Reading> {
 public:
  Echo() {
    StartRead(&command_);
    StartRead(&second_);  // one read at a time: fails at once
  }
  void OnReadDone(bool ok) override {
    if (!refused_) {
      refused_ = true;
      Reading refused;
      refused.set_sensor(ok ? "not refused" : "refused");
      StartWrite(&refused);
      return;
    }
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    Reading echo;
    echo.set_sensor(command_.text());
    StartWrite(&echo);
    StartRead(&command_);
  }
  void OnDone() override { delete this; }

 private:
  Command command_;
  Command second_;
  bool refused_ = false;
};

// The service: request.sensor picks each method's behaviour.
class TestMeter : public Meter::CallbackService {
 public:
  using Meter::CallbackService::Latest;
  using Meter::CallbackService::Watch;

  ServerUnaryReactor* Latest(CallbackServerContext* context,
                             const WatchRequest* request,
                             Reading* reply) override {
    const std::string& mode = request->sensor();
    if (mode == "blocking" || mode == "block") {
      return nullptr;  // the blocking form, please
    }
    if (mode == "cancel" || mode == "never") {
      return new CountingUnary(&probe_, mode == "cancel");
    }
    if (mode == "race") {
      // Finished by another thread at once (FinishRacing()), racing the
      // client's cancel and deadline.
      reply->set_value(request->count());
      return new RacingUnary(this);
    }
    reply->set_sensor(mode);
    ServerUnaryReactor* reactor = context->DefaultReactor();
    if (mode == "later") {
      MutexLock lock(&mu_);
      later_.push_back({reactor, reply});
      probe_.Count("later-started");
    } else if (mode == "twice") {
      reply->set_value(1);
      reactor->Finish(absl::OkStatus());
      reactor->Finish(absl::InternalError("second Finish"));
    } else if (mode == "fail") {
      reactor->Finish(absl::NotFoundError("no sensor called fail"));
    } else {
      reply->set_value(1);
      reactor->Finish(absl::OkStatus());
    }
    return reactor;
  }
  absl::Status Latest(ServerContext* context, const WatchRequest& request,
                      Reading* reply) override {
    if (request.sensor() == "block") {  // holds its slot until cancelled
      probe_.Count("block-started");
      const bool cancelled =
          context->WaitForCancellation(absl::Now() + kTimeout);
      probe_.Count("block-ended");
      return cancelled ? absl::CancelledError("cancelled")
                       : absl::DeadlineExceededError("never cancelled");
    }
    reply->set_sensor("blocking form");
    reply->set_value(42);
    return absl::OkStatus();
  }
  ServerWriteReactor<Reading>* Watch(CallbackServerContext* context,
                                     const WatchRequest* request) override {
    return new Watcher(&probe_, &hub_, *request);
  }
  ServerReadReactor<Reading>* Record(CallbackServerContext* context,
                                     Summary* reply) override {
    return new Summer(reply);
  }
  ServerBidiReactor<Command, Reading>* Control(
      CallbackServerContext* context) override {
    return new Echo();
  }

  // Finishes every "later" call from the calling thread with `value`.
  void FinishLater(double value) {
    MutexLock lock(&mu_);
    for (auto& [reactor, reply] : later_) {
      reply->set_value(value);
      reactor->Finish(absl::OkStatus());
    }
    later_.clear();
  }

  // Finishes the "race" calls started so far; returns how many.
  int FinishRacing() {
    // Under the lock, so that no reactor is done (and deleted) meanwhile:
    // Finish() runs no reaction itself.
    MutexLock lock(&mu_);
    for (ServerUnaryReactor* reactor : racing_) {
      reactor->Finish(absl::OkStatus());
    }
    const int finished = static_cast<int>(racing_.size());
    racing_.clear();
    return finished;
  }

  Probe& probe() { return probe_; }
  Hub& hub() { return hub_; }

 private:
  // A "race" call's reactor: listed for FinishRacing() until it is done;
  // finishes itself if cancelled first.
  class RacingUnary : public ServerUnaryReactor {
   public:
    explicit RacingUnary(TestMeter* service) : service_(service) {
      service_->probe_.Count("unary-started");
      MutexLock lock(&service_->mu_);
      service_->racing_.push_back(this);
    }
    void OnCancel() override { Finish(absl::CancelledError("cancelled")); }
    void OnDone() override {
      {
        MutexLock lock(&service_->mu_);
        auto& racing = service_->racing_;
        racing.erase(std::remove(racing.begin(), racing.end(), this),
                     racing.end());
      }
      service_->probe_.Count("unary-done");
      delete this;
    }

   private:
    TestMeter* const service_;
  };

  Probe probe_;
  Hub hub_;
  Mutex mu_;
  std::vector<std::pair<ServerUnaryReactor*, Reading*>> later_
      ABSL_GUARDED_BY(mu_);
  std::vector<ServerUnaryReactor*> racing_ ABSL_GUARDED_BY(mu_);
};

class CallbackServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = ServerOptions()) {
    options.log = [this](absl::string_view line) {
      MutexLock lock(&log_mu_);
      log_.push_back(std::string(line));
    };
    server_ = std::make_unique<Server>(std::move(options));
    ASSERT_TRUE(server_->RegisterService(&service_).ok());
    absl::StatusOr<std::string> address =
        server_->Listen(absl::StrCat("unix:", dir_.File("meter")));
    ASSERT_TRUE(address.ok()) << address.status();
    address_ = *address;
    ASSERT_TRUE(server_->Start().ok());
    stub_ = NewStub();
  }
  std::unique_ptr<Meter::Stub> NewStub() {
    absl::StatusOr<std::shared_ptr<::sockrpc::Channel>> channel =
        ::sockrpc::CreateChannel(address_);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return std::make_unique<Meter::Stub>(*channel);
  }
  void TearDown() override {
    stub_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::Now() + absl::Seconds(5));
  }
  // Waits until a log line contains `text`; false after kTimeout.
  bool Logged(absl::string_view text) {
    MutexLock lock(&log_mu_);
    return log_mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          for (const std::string& line : log_) {
            if (absl::StrContains(line, text)) return true;
          }
          return false;
        },
        absl::Now() + kTimeout);
  }
  static WatchRequest Mode(const std::string& mode, int count = 0) {
    WatchRequest request;
    request.set_sensor(mode);
    request.set_count(count);
    return request;
  }

  TempDir dir_;
  TestMeter service_;
  std::unique_ptr<Server> server_;
  std::string address_;
  std::unique_ptr<Meter::Stub> stub_;
  Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

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
      ::sockrpc::CreateChannel(address_);
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
  server_->Shutdown(absl::Now());
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

TEST_F(CallbackServerTest, ShutdownWithNoArgumentWaitsForCallsInFlight) {
  StartServer();
  auto waiting = stub_->AsyncLatest(Mode("later"));
  ASSERT_TRUE(service_.probe().WaitFor("later-started", 1));
  std::atomic<bool> returned{false};
  std::thread shutdown([&] {
    server_->Shutdown();
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
  // the client's reason, and each reactor is done exactly once.
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
  server_->Shutdown();
  EXPECT_EQ(service_.probe().count("unary-done"), started);
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
