// The client's callback API end to end, in one process: a real Server and
// Channel over a unix socket in a temp dir, the Meter service of
// tests/protos/streaming.proto served by a small callback service. Each
// test checks rules of client/client_callback.h: every kind of call
// completes with no application thread waiting on the channel (the test
// thread only waits for its own record of the reactions, with a bounded
// wait), a thousand calls at once, cancel and deadline (with a server that
// never answers), blocking calls beside the event loop, the Channel
// destroyed with calls in flight (from the test thread and from inside a
// reaction), UnaryFuture::Then, and that blocking-only use starts no
// thread.
#include "client/client_callback.h"

#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "client/interceptor.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "tests/client_callback_testing.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc::test::streaming {
namespace {

TEST(ClientCallbackThreadsTest, BlockingCallsStartNoThread) {
  TempDir dir;
  absl::StatusOr<::sockrpc::testing::StartedServer> server =
      ::sockrpc::testing::StartIncrementServer(
          absl::StrCat("unix:", dir.File("increment")));
  ASSERT_TRUE(server.ok()) << server.status();
  const int before = CountThreads();
  ASSERT_GT(before, 0);
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      ::sockrpc::CreateChannel(server->address);
  ASSERT_TRUE(channel.ok()) << channel.status();
  ::increment::Increment::Stub stub(*channel);
  ::increment::IncrementRequest request;
  request.set_character("A");
  absl::StatusOr<::increment::IncrementReply> reply = stub.Increment(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");
  reply = stub.AsyncIncrement(request).Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(CountThreads(), before);
  EXPECT_EQ(CountLoopThreads(), 0);

  // The callback API starts the loop, one thread; destroying the channel
  // joins it.
  Events events;
  ::increment::IncrementReply callback_reply;
  stub.async()->Increment(
      nullptr, &request, &callback_reply,
      [&events](absl::Status status) { events.Done(status); });
  ASSERT_TRUE(events.WaitFor("done:OK"));
  EXPECT_EQ(callback_reply.character(), "B");
  EXPECT_EQ(CountLoopThreads(), 1);
  EXPECT_EQ(CountThreads(), before + 1);
  stub = ::increment::Increment::Stub(nullptr);
  channel->reset();
  EXPECT_EQ(CountLoopThreads(), 0);
  EXPECT_EQ(CountThreads(), before);
}

TEST_F(ClientCallbackTest, UnaryCompletesWithNoThreadWaiting) {
  CallLatest(*stub_, "kitchen", 7, &events_);
  CallLatest(*stub_, "fail", 0, &events_);
  ASSERT_TRUE(events_.WaitFor("done", 2));
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("value:7"), 1);
  EXPECT_EQ(events_.count("done:NOT_FOUND"), 1);
}

TEST_F(ClientCallbackTest, ServerStreamReadsEveryReplyBeyondTheWindow) {
  // 100 readings of 10 KB: the server's writes wait for the window that
  // the reactor's reads give back.
  (new Reader(stub_.get(), Request("big", 100), &events_))->Start();
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("metadata"), 1);
  EXPECT_EQ(events_.count("read"), 100);
  EXPECT_EQ(events_.count("read-end"), 1);
  EXPECT_EQ(events_.count("error:metadata-late"), 0);
  EXPECT_EQ(events_.count("error:read-before-metadata"), 0);
  EXPECT_EQ(events_.count("error:out-of-order"), 0);
}

TEST_F(ClientCallbackTest, ClientStreamWritesBeyondTheWindowInOrder) {
  // 1 MB in 100 writes started at once: each completes when the server's
  // window allows, then HALF_CLOSE goes out after them.
  new Recorder(stub_.get(), 100, 10000, &events_);
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("write"), 100);
  EXPECT_EQ(events_.count("writes-done"), 1);
  EXPECT_EQ(events_.count("error:summary"), 0);
}

TEST_F(ClientCallbackTest, WritesAfterWritesDoneFailAndTheCallGoesOn) {
  new Recorder(stub_.get(), 3, 10, &events_, /*late=*/2);
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("write"), 3);
  EXPECT_EQ(events_.count("write-failed"), 2);
  EXPECT_EQ(events_.count("writes-done"), 1);
  EXPECT_EQ(events_.count("error:summary"), 0);
}

TEST_F(ClientCallbackTest, BidiEchoesAndRefusesASecondReadAtOnce) {
  new Chatter(stub_.get(), 20, &events_);
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("refused"), 1);
  EXPECT_EQ(events_.count("write"), 20);
  EXPECT_EQ(events_.count("read"), 20);
  EXPECT_EQ(events_.count("writes-done"), 1);
  EXPECT_EQ(events_.count("read-end"), 1);
  EXPECT_EQ(events_.count("error:wrong-echo"), 0);
  EXPECT_EQ(events_.count("error:second-read-not-refused"), 0);
  EXPECT_EQ(events_.count("error:read-before-metadata"), 0);
}

// The loop cannot start (no descriptor left for its epoll instance): the
// call ends on the thread that starts it, with UNAVAILABLE, although a
// read was started before StartCall(); the next call, with descriptors
// again, starts the loop and works. (The first call once reached the loop's
// ready list all the same, and was used there after StartCall() had
// deleted it.)
TEST_F(ClientCallbackTest, CallNoLoopTookEndsOnItsOwnThread) {
  if (::sockrpc::testing::kUnderSanitizer) {
    // The sanitizers' own checks need descriptors too: UBSan's vptr check
    // reports every polymorphic member access as invalid once none is left.
    GTEST_SKIP() << "needs the descriptor table full, which sanitizers "
                    "cannot run with";
  }
  ASSERT_TRUE(stub_->Latest(Request("kitchen", 1)).ok());  // connected
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  const int lowest_free = dup(0);
  ASSERT_GE(lowest_free, 0);
  close(lowest_free);
  rlimit no_more = old_limit;
  no_more.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &no_more), 0);
  // Owned here, not deleted in OnDone(): OnDone() runs inside StartCall().
  class Watcher : public ClientReadReactor<Reading> {
   public:
    Watcher(Meter::Stub* stub, Events* events)
        : events_(events), request_(Request("kitchen", 3)) {
      stub->async()->Watch(&context_, &request_, this);
      StartRead(&reading_);
    }
    void Start() { StartCall(); }
    void OnReadDone(bool ok) override {
      events_->Add(ok ? "read" : "read-end");
    }
    void OnDone(const absl::Status& status) override { events_->Done(status); }

   private:
    Events* const events_;
    const WatchRequest request_;
    ClientContext context_;
    Reading reading_;
  };
  Watcher watcher(stub_.get(), &events_);
  watcher.Start();  // ends here: OnDone() before it returns
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_EQ(events_.count("done:UNAVAILABLE"), 1);
  EXPECT_EQ(events_.count("read-end"), 1);

  CallLatest(*stub_, "kitchen", 5, &events_);
  ASSERT_TRUE(events_.WaitFor("done", 2));
  EXPECT_EQ(events_.count("value:5"), 1);
}

// Holds a Watch call's OnCallStart() until a reaction on the loop thread
// is about to destroy the Channel, then gives that destruction a moment
// to finish, noting whether it did: it must not, while this StartCall()
// still uses the Channel.
class PausingInterceptor : public ::sockrpc::ClientInterceptor {
 public:
  explicit PausingInterceptor(Events* events) : events_(events) {}
  absl::Status OnCallStart(absl::string_view method,
                           ClientContext& context) override {
    if (!absl::StrContains(method, "Watch")) return absl::OkStatus();
    events_->Add("opening");
    if (!events_->WaitFor("destroying")) events_->Add("error:no-destroy");
    if (events_->WaitFor("destroyed", 1, absl::Milliseconds(200))) {
      events_->Add("error:destroyed-while-opening");
    }
    return absl::OkStatus();
  }

 private:
  Events* const events_;
};

TEST_F(ClientCallbackTest, ChannelDestroyedInAReactionWhileACallOpens) {
  PausingInterceptor pausing(&events_);
  ::sockrpc::ChannelOptions options;
  options.interceptors.push_back(&pausing);
  auto channel = NewChannel(options);
  auto stub = std::make_shared<Meter::Stub>(channel);
  // A Watch the server never answers: only the Channel's end ends it.
  auto* reader = new Reader(stub.get(), Request("silent", 1), &events_);
  std::thread opener([reader] { reader->Start(); });
  ASSERT_TRUE(events_.WaitFor("opening"));
  // A unary call the server never answers, whose completion function
  // drops the last references once the test cancels it.
  auto call = std::make_shared<UnaryCall>();
  call->request.set_sensor("silent");
  Meter::Stub* raw_stub = stub.get();
  Events* events = &events_;
  auto last = std::make_shared<
      std::pair<std::shared_ptr<Channel>, std::shared_ptr<Meter::Stub>>>(
      std::move(channel), std::move(stub));
  raw_stub->async()->Latest(&call->context, &call->request, &call->reply,
                            [call, events, last](absl::Status status) mutable {
                              events->Add("destroying");
                              last.reset();  // ~Channel, on the loop thread
                              events->Add("destroyed");
                            });
  ASSERT_TRUE(service_.events().WaitFor("server-silent"));
  last.reset();  // the completion function holds the last references
  call->context.TryCancel();
  opener.join();
  ASSERT_TRUE(events_.WaitFor("destroyed"));
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:CANCELLED"), 1);  // the Watch call
  EXPECT_EQ(events_.count("error:no-destroy"), 0);
  EXPECT_EQ(events_.count("error:destroyed-while-opening"), 0);
}

TEST_F(ClientCallbackTest, ThousandUnaryCallsAtOnceOnOneChannel) {
  constexpr int kCalls = 1000;
  for (int i = 0; i < kCalls; ++i) CallLatest(*stub_, "sensor", i, &events_);
  ASSERT_TRUE(events_.WaitFor("done", kCalls));
  EXPECT_EQ(events_.count("done:OK"), kCalls);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(events_.count(absl::StrCat("value:", i)), 1) << i;
  }
}

TEST_F(ClientCallbackTest, ThousandServerStreamsAtOnceOnOneChannel) {
  constexpr int kStreams = 1000;
  for (int i = 0; i < kStreams; ++i) {
    (new Reader(stub_.get(), Request("small", 5), &events_))->Start();
  }
  ASSERT_TRUE(events_.WaitFor("done", kStreams));
  EXPECT_EQ(events_.count("done:OK"), kStreams);
  EXPECT_EQ(events_.count("read"), 5 * kStreams);
  EXPECT_EQ(events_.count("read-end"), kStreams);
  EXPECT_EQ(events_.count("error:out-of-order"), 0);
}

TEST_F(ClientCallbackTest, TryCancelEndsTheCallWithCancelled) {
  auto* reader = new Reader(stub_.get(), Request("silent", 0), &events_);
  reader->Start();
  // Once the server has the call, cancel it from this thread (the reactor
  // lives until OnDone, which only the cancel can bring).
  ASSERT_TRUE(service_.events().WaitFor("server-silent"));
  reader->context().TryCancel();
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:CANCELLED"), 1);
  EXPECT_EQ(events_.count("read-end"), 1);
  EXPECT_EQ(events_.count("no-metadata"), 1);
  // The server was told.
  EXPECT_TRUE(service_.events().WaitFor("server-silent-done"));
}

TEST_F(ClientCallbackTest, TryCancelBeforeStartCallEndsItUnsent) {
  auto* reader = new Reader(stub_.get(), Request("small", 3), &events_);
  reader->context().TryCancel();
  reader->Start();
  ASSERT_TRUE(events_.WaitFor("done"));
  EXPECT_EQ(events_.count("done:CANCELLED"), 1);
  EXPECT_EQ(events_.count("read"), 0);
}

TEST_F(ClientCallbackTest, DeadlineEndsCallsTheServerNeverAnswers) {
  // Nothing ever arrives for these calls: the loop's timer ends them.
  CallLatest(*stub_, "silent", 0, &events_, absl::Milliseconds(100));
  (new Reader(stub_.get(), Request("silent", 0), &events_,
              absl::Milliseconds(100)))
      ->Start();
  ASSERT_TRUE(events_.WaitFor("done", 2));
  EXPECT_EQ(events_.count("done:DEADLINE_EXCEEDED"), 2);
  EXPECT_EQ(events_.count("read-end"), 1);
  // Both ended on the server too, which ends its calls at their deadline.
  EXPECT_TRUE(service_.events().WaitFor("server-silent-done", 2));
}

TEST_F(ClientCallbackTest, BlockingCallsWorkBesideTheLoop) {
  // The loop runs and watches the connection for an open stream while
  // this thread makes blocking calls (taking the reader role from it).
  auto* reader = new Reader(stub_.get(), Request("silent", 0), &events_);
  reader->Start();
  ASSERT_TRUE(service_.events().WaitFor("server-silent"));
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Reading> reply = stub_->Latest(Request("blocking", i));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->value(), i);
    // And a callback call between each, which the loop must complete.
    CallLatest(*stub_, "between", i, &events_);
  }
  ASSERT_TRUE(events_.WaitFor("done:OK", 100));
  reader->context().TryCancel();
  ASSERT_TRUE(events_.WaitFor("done:CANCELLED"));
  // A blocking call once no callback call is left.
  absl::StatusOr<Reading> reply = stub_->Latest(Request("after", 1));
  ASSERT_TRUE(reply.ok()) << reply.status();
}

TEST_F(ClientCallbackTest, FutureThenCompletesWithNoThreadWaiting) {
  for (int i = 0; i < 10; ++i) {
    stub_->AsyncLatest(Request("future", i))
        .Then([this](absl::StatusOr<Reading> reply) {
          if (reply.ok()) {
            events_.Add(
                absl::StrCat("value:", static_cast<int>(reply->value())));
          }
          events_.Done(reply.status());
        });
  }
  // One that the server never answers ends at its deadline.
  auto context = std::make_unique<ClientContext>();
  context->set_timeout(absl::Milliseconds(100));
  stub_->AsyncLatest(context.get(), Request("silent", 0))
      .Then([this](absl::StatusOr<Reading> reply) {
        events_.Done(reply.status());
      });
  ASSERT_TRUE(events_.WaitFor("done", 11));
  EXPECT_EQ(events_.count("done:OK"), 10);
  EXPECT_EQ(events_.count("done:DEADLINE_EXCEEDED"), 1);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(events_.count(absl::StrCat("value:", i)), 1);
  // Get() right away still works (on this thread, with no loop involved).
  absl::StatusOr<Reading> reply = stub_->AsyncLatest(Request("get", 3)).Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->value(), 3);
}

TEST_F(ClientCallbackTest, DestroyingTheChannelEndsEveryCallInFlight) {
  CallLatest(*stub_, "silent", 0, &events_);
  CallLatest(*stub_, "silent", 0, &events_);
  (new Reader(stub_.get(), Request("silent", 0), &events_))->Start();
  // The server waits for these clients' next message.
  new IdleBidi(stub_.get(), &events_);
  new IdleWriter(stub_.get(), &events_);
  // Bound, never started: ends too, unsent.
  new Reader(stub_.get(), Request("small", 1), &events_);
  // A future handed to the loop.
  stub_->AsyncLatest(Request("silent", 0))
      .Then([this](absl::StatusOr<Reading> reply) {
        events_.Done(reply.status());
      });
  ASSERT_TRUE(service_.events().WaitFor("server-silent", 4));
  // The last references: the destructor waits for every OnDone.
  stub_.reset();
  channel_.reset();
  EXPECT_EQ(events_.count("done"), 7);
  EXPECT_EQ(events_.count("done:CANCELLED") + events_.count("done:UNAVAILABLE"),
            7);
  // The server saw the calls end.
  EXPECT_TRUE(service_.events().WaitFor("server-silent-done", 4));
}

TEST_F(ClientCallbackTest, DestroyingTheChannelInsideAReaction) {
  // The stub (holding the only reference to its channel) is released by a
  // call's completion function, on the loop thread: the destructor returns
  // at once, the other call in flight still gets OnDone, and the loop's
  // thread ends by itself.
  auto stub = std::make_shared<Meter::Stub>(NewChannel());
  (new Reader(stub.get(), Request("silent", 0), &events_))->Start();
  ASSERT_TRUE(service_.events().WaitFor("server-silent"));
  auto call = std::make_shared<UnaryCall>();
  call->request.set_sensor("last");
  Meter::Stub* raw = stub.get();
  auto holder = std::make_shared<std::shared_ptr<Meter::Stub>>(std::move(stub));
  raw->async()->Latest(&call->context, &call->request, &call->reply,
                       [this, call, holder](absl::Status status) {
                         holder->reset();  // destroys the Channel
                         events_.Add("released");
                         events_.Done(status);
                       });
  ASSERT_TRUE(events_.WaitFor("done", 2));
  EXPECT_EQ(events_.count("released"), 1);
  EXPECT_EQ(events_.count("done:OK"), 1);
  EXPECT_EQ(events_.count("done:CANCELLED"), 1);
}

TEST_F(ClientCallbackTest, ThenAfterTheChannelIsGoneRunsAtOnce) {
  ::sockrpc::UnaryFuture<Reading> future =
      stub_->AsyncLatest(Request("silent", 0));
  ASSERT_TRUE(service_.events().WaitFor("server-silent"));
  // Start the loop, then destroy the channel; the future outlives it.
  CallLatest(*stub_, "start", 0, &events_);
  ASSERT_TRUE(events_.WaitFor("done"));
  stub_.reset();
  channel_.reset();
  absl::Status status;
  future.Then(
      [&status](absl::StatusOr<Reading> reply) { status = reply.status(); });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
}

// Counts the interceptor hooks around callback calls.
class CountingInterceptor : public ::sockrpc::ClientInterceptor {
 public:
  explicit CountingInterceptor(Events* events) : events_(events) {}
  absl::Status OnCallStart(absl::string_view method,
                           ClientContext& context) override {
    events_->Add(absl::StrCat("start ", method));
    return absl::OkStatus();
  }
  void OnCallEnd(absl::string_view method, const ClientContext& context,
                 const absl::Status& status, absl::Duration elapsed) override {
    events_->Add(absl::StrCat("end ", method));
  }

 private:
  Events* const events_;
};

TEST_F(ClientCallbackTest, InterceptorsSeeCallbackCalls) {
  CountingInterceptor interceptor(&events_);
  ::sockrpc::ChannelOptions options;
  options.interceptors = {&interceptor};
  Meter::Stub stub(NewChannel(options));
  CallLatest(stub, "sensor", 1, &events_);
  (new Reader(&stub, Request("small", 2), &events_))->Start();
  ASSERT_TRUE(events_.WaitFor("done", 2));
  EXPECT_EQ(events_.count("start /sockrpc.test.streaming.Meter/Latest"), 1);
  EXPECT_EQ(events_.count("end /sockrpc.test.streaming.Meter/Latest"), 1);
  EXPECT_EQ(events_.count("start /sockrpc.test.streaming.Meter/Watch"), 1);
  EXPECT_EQ(events_.count("end /sockrpc.test.streaming.Meter/Watch"), 1);
}

}  // namespace
}  // namespace sockrpc::test::streaming
