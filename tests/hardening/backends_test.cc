// A channel over several servers (ChannelOptions::load_balancing): three
// real increment_server processes on loopback ports, one target listing
// them, and round_robin's turns, a server that goes away, its backoff and
// its return; pick_first over the same list. Each server logs its calls
// (--log_calls), which is how the tests tell where each call went.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/fd_testing.h"
#include "tests/testing/server_process.h"
#include "transport/fd.h"
#include "transport/sync.h"

namespace {

using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;

using ::sockrpc::testing::OpenFdCount;
using ::sockrpc::testing::OpenSilentPort;
using ::sockrpc::testing::SilentPort;
using ::sockrpc::testing::ThreadsNamed;

constexpr char kCallLine[] = "call /increment.Increment/Increment from";

// How many calls `server` has logged so far.
int CallsServed(const StartedServer& server) {
  const std::string text =
      server.process->StdoutText() + server.process->StderrText();
  int count = 0;
  for (size_t at = text.find(kCallLine); at != std::string::npos;
       at = text.find(kCallLine, at + 1)) {
    ++count;
  }
  return count;
}

class BackendsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(StartServer(i));
  }

  // Starts server `i` on its port (a new one the first time).
  void StartServer(int i) {
    const std::string address = ports_.size() > static_cast<size_t>(i)
                                    ? absl::StrCat("127.0.0.1:", ports_[i])
                                    : "127.0.0.1:0";
    absl::StatusOr<StartedServer> server =
        StartServerBinary("increment_server", address, {"--log_calls"});
    ASSERT_TRUE(server.ok()) << server.status();
    if (servers_.size() <= static_cast<size_t>(i)) {
      servers_.resize(i + 1);
      ports_.push_back(server->address.substr(server->address.rfind(':') + 1));
    }
    servers_[i] = *std::move(server);
  }

  // The target naming the three: "ipv4:127.0.0.1:P1,127.0.0.1:P2,...".
  std::string Target() const {
    std::vector<std::string> each;
    for (const std::string& port : ports_) {
      each.push_back(absl::StrCat("127.0.0.1:", port));
    }
    return absl::StrCat("ipv4:", absl::StrJoin(each, ","));
  }

  std::shared_ptr<sockrpc::Channel> MakeChannel(
      sockrpc::LoadBalancing policy,
      absl::Duration backoff = absl::Milliseconds(50),
      sockrpc::ChannelOptions options = {}, std::string target = "") {
    options.load_balancing = policy;
    options.reconnect_backoff.initial = backoff;
    options.reconnect_backoff.max = std::max(backoff, absl::Milliseconds(200));
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(target.empty() ? Target() : target, options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  static absl::Status Call(increment::Increment::Stub& stub) {
    increment::IncrementRequest request;
    request.set_character("A");
    sockrpc::ClientContext context;
    context.set_timeout(kIoTimeout);
    absl::StatusOr<increment::IncrementReply> reply =
        stub.Increment(&context, request);
    if (!reply.ok()) return reply.status();
    if (reply->character() != "B") return absl::InternalError("wrong reply");
    return absl::OkStatus();
  }

  // Waits until the servers have logged `total` calls between them (a
  // server logs a call as it ends, just after its reply leaves).
  std::vector<int> WaitForServed(int total) {
    const absl::Time deadline = absl::Now() + kIoTimeout;
    std::vector<int> served;
    for (;;) {
      served.clear();
      int sum = 0;
      for (const StartedServer& server : servers_) {
        served.push_back(CallsServed(server));
        sum += served.back();
      }
      if (sum >= total || absl::Now() >= deadline) return served;
      (void)servers_[0].process->WaitForLine("\n", absl::Milliseconds(1));
    }
  }

  std::vector<StartedServer> servers_;
  std::vector<std::string> ports_;
};

TEST_F(BackendsTest, RoundRobinTakesTurnsAcrossEveryServer) {
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kRoundRobin);
  ASSERT_NE(channel, nullptr);
  // Every backend connected first: calls take turns across those up.
  ASSERT_TRUE(channel->WaitForConnected(absl::Now() + kIoTimeout).ok());
  increment::Increment::Stub stub(channel);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Call(stub).ok()) << "call " << i;
  EXPECT_EQ(WaitForServed(30), (std::vector<int>{10, 10, 10}));
}

TEST_F(BackendsTest, RoundRobinServesManyThreadsAtOnce) {
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kRoundRobin);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  // Four threads start together, so that some find a backend another is
  // still connecting to.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stub, &failures] {
      for (int i = 0; i < 25; ++i) {
        if (!Call(stub).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<int> served = WaitForServed(100);
  EXPECT_EQ(served[0] + served[1] + served[2], 100);
  for (int each : served) EXPECT_GT(each, 0);
}

// Chains of callback calls, each call started by the `done` of the one
// before, until `left` calls have been started in all.
struct CallbackChains {
  struct Chain {
    CallbackChains* all;
    increment::IncrementReply reply;
    void Next() {
      all->stub->async()->Increment(
          nullptr, &all->request, &reply,
          [this](absl::Status status) { Done(status); });
    }
    void Done(const absl::Status& status) {
      {
        sockrpc::MutexLock lock(&all->mu);
        if (status.ok() && reply.character() == "B") {
          ++all->ok;
        } else {
          all->failures.push_back(status.ToString());
        }
        if (all->left == 0) {
          --all->running;
          return;
        }
        --all->left;
      }
      Next();
    }
  };

  increment::Increment::Stub* stub = nullptr;
  increment::IncrementRequest request;
  // Every chain made, alive until the channel has ended every call.
  std::vector<std::unique_ptr<Chain>> chains;
  sockrpc::Mutex mu;  // (ours: ThreadSanitizer sees its locks)
  int left ABSL_GUARDED_BY(mu) = 0;
  int running ABSL_GUARDED_BY(mu) = 0;
  int ok ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::string> failures ABSL_GUARDED_BY(mu);
};

TEST_F(BackendsTest, RoundRobinCallbackCallsMoveTheLoopAcrossConnections) {
  // Callback calls take turns across the three connections, which the
  // channel's event loop watches one, two or three at a time as chains
  // overlap: alone, it waits for its connection's bytes in its own ring
  // with input out of epoll (its solo connection); with another watched,
  // it must put that input back, or a reply on it is never read.
  CallbackChains calls;  // (outlives the channel: its calls' `done`s)
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kRoundRobin);
  ASSERT_NE(channel, nullptr);
  ASSERT_TRUE(channel->WaitForConnected(absl::Now() + kIoTimeout).ok());
  increment::Increment::Stub stub(channel);
  calls.stub = &stub;
  calls.request.set_character("A");
  // A lone chain first (the loop goes solo on each connection in turn),
  // then three at once (the loop watches several), then one again.
  constexpr int kCallsPerRound = 30;
  for (int chain_count : {1, 3, 1}) {
    const size_t first = calls.chains.size();
    for (int i = 0; i < chain_count; ++i) {
      calls.chains.push_back(std::make_unique<CallbackChains::Chain>(
          CallbackChains::Chain{&calls}));
    }
    {
      sockrpc::MutexLock lock(&calls.mu);
      calls.left = kCallsPerRound - chain_count;
      calls.running = chain_count;
    }
    for (size_t i = first; i < calls.chains.size(); ++i)
      calls.chains[i]->Next();
    sockrpc::MutexLock lock(&calls.mu);
    const bool ended = calls.mu.AwaitWithDeadline(
        [&calls]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return calls.running == 0;
        },
        absl::Now() + kIoTimeout);
    if (!ended) calls.left = 0;  // (what the channel's end cancels, ends)
    ASSERT_TRUE(ended) << calls.ok << " calls ended well, then none for "
                       << kIoTimeout << " with " << chain_count
                       << " chain(s) in flight";
  }
  {
    sockrpc::MutexLock lock(&calls.mu);
    EXPECT_EQ(calls.ok, 3 * kCallsPerRound)
        << absl::StrJoin(calls.failures, "; ");
  }
  std::vector<int> served = WaitForServed(3 * kCallsPerRound);
  for (int each : served) EXPECT_GE(each, kCallsPerRound / 3 - 1);
}

TEST_F(BackendsTest, PickFirstKeepsToTheFirstServer) {
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kPickFirst);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Call(stub).ok()) << "call " << i;
  EXPECT_EQ(WaitForServed(10), (std::vector<int>{10, 0, 0}));
}

TEST_F(BackendsTest, RoundRobinGoesOnWithoutAServerAndTakesItBackLater) {
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kRoundRobin);
  ASSERT_NE(channel, nullptr);
  ASSERT_TRUE(channel->WaitForConnected(absl::Now() + kIoTimeout).ok());
  increment::Increment::Stub stub(channel);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(stub).ok());
  ASSERT_EQ(WaitForServed(3), (std::vector<int>{1, 1, 1}));

  // The second server shuts down (GOAWAY, then its port refuses): every
  // call still succeeds, on the other two.
  ASSERT_TRUE(servers_[1].process->Signal(SIGTERM).ok());
  ASSERT_TRUE(servers_[1].process->WaitForExit(kIoTimeout).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Call(stub).ok()) << "call " << i;
  std::vector<int> served = WaitForServed(23);
  EXPECT_EQ(served[0] + served[2], 22);
  EXPECT_GT(served[0], 1);
  EXPECT_GT(served[2], 1);

  // It comes back on the same port: once its backoff (at most 200 ms
  // here) has passed, calls reach it again.
  ASSERT_NO_FATAL_FAILURE(StartServer(1));
  const absl::Time deadline = absl::Now() + kIoTimeout;
  while (CallsServed(servers_[1]) == 0 && absl::Now() < deadline) {
    ASSERT_TRUE(Call(stub).ok());
  }
  EXPECT_GT(CallsServed(servers_[1]), 0);
}

TEST_F(BackendsTest, NoServerUpFailsUnavailableNamingEach) {
  // A backoff long enough that the second call surely comes within it.
  std::shared_ptr<sockrpc::Channel> channel =
      MakeChannel(sockrpc::LoadBalancing::kRoundRobin, absl::Seconds(30));
  ASSERT_NE(channel, nullptr);
  for (StartedServer& server : servers_) {
    ASSERT_TRUE(server.process->Signal(SIGTERM).ok());
    ASSERT_TRUE(server.process->WaitForExit(kIoTimeout).ok());
  }
  increment::Increment::Stub stub(channel);
  absl::Status first = Call(stub);
  ASSERT_TRUE(absl::IsUnavailable(first)) << first;
  EXPECT_TRUE(absl::StrContains(first.message(), "no backend of ipv4:"))
      << first;
  for (const std::string& port : ports_) {
    EXPECT_TRUE(absl::StrContains(
        first.message(), absl::StrCat("failed to connect to ipv4:127.0.0.1:",
                                      port, ": Connection refused")))
        << first;
  }
  // At once again: each backend waits out its backoff, and says so.
  absl::Status second = Call(stub);
  ASSERT_TRUE(absl::IsUnavailable(second)) << second;
  EXPECT_TRUE(absl::StrContains(second.message(), "tried again in")) << second;
}

// A server that never answers (its host drops packets) is connected to in
// the background: calls go on over the others at once, none waits for its
// connect_timeout, and the channel's end cancels the attempt.
TEST_F(BackendsTest, RoundRobinConnectsAnUnansweringServerInTheBackground) {
  absl::StatusOr<SilentPort> hole =
      OpenSilentPort(SilentPort::kDropsConnections);
  ASSERT_TRUE(hole.ok()) << hole.status();
  const int fds_before = OpenFdCount();
  {
    sockrpc::ChannelOptions options;
    // Longer than the test may run: waiting for the attempt anywhere (a
    // call, the channel's destructor) would time the test out.
    options.connect_timeout = absl::Hours(1);
    std::shared_ptr<sockrpc::Channel> channel = MakeChannel(
        sockrpc::LoadBalancing::kRoundRobin, absl::Milliseconds(50), options,
        absl::StrCat("ipv4:127.0.0.1:", ports_[0], ",127.0.0.1:", hole->port,
                     ",127.0.0.1:", ports_[2]));
    ASSERT_NE(channel, nullptr);
    increment::Increment::Stub stub(channel);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Call(stub).ok()) << "call " << i;
    // The other backends share the calls; the unanswering one is still
    // being connected, by a thread of its own.
    const absl::Time deadline = absl::Now() + kIoTimeout;
    // (Each is connected by a thread of its own: calls go to the first up
    // until the other is.)
    while ((CallsServed(servers_[0]) == 0 || CallsServed(servers_[2]) == 0) &&
           absl::Now() < deadline) {
      ASSERT_TRUE(Call(stub).ok());
    }
    std::vector<int> served = WaitForServed(20);
    EXPECT_GT(served[0], 0);
    EXPECT_GT(served[2], 0);
    EXPECT_EQ(served[1], 0);
    // (Threads whose attempt is over may still be ending.)
    EXPECT_GE(ThreadsNamed("sockrpc-connect"), 1);
    // WaitForConnected() waits for it until its own deadline, and is OK:
    // two backends are up.
    EXPECT_TRUE(
        channel->WaitForConnected(absl::Now() + absl::Milliseconds(100)).ok());
  }
  EXPECT_EQ(ThreadsNamed("sockrpc-connect"), 0);
  EXPECT_EQ(OpenFdCount(), fds_before);
}

// A server that takes each connection and closes it at once (as a full
// one does, after its GOAWAY) is a failed attempt, whose backoff (an hour
// here) holds it off; not a new connection at every turn.
TEST_F(BackendsTest, RoundRobinBacksOffAServerThatClosesEachConnection) {
  absl::StatusOr<SilentPort> closer =
      OpenSilentPort(SilentPort::kTakesConnections);
  ASSERT_TRUE(closer.ok()) << closer.status();
  std::atomic<int> taken{0};
  std::atomic<bool> stop{false};
  std::thread acceptor([&closer, &taken, &stop] {
    while (!stop.load()) {
      pollfd entry = {closer->listener.get(), POLLIN, 0};
      if (::poll(&entry, 1, 10) <= 0) continue;
      sockrpc::Fd connection(
          ::accept4(closer->listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection.valid()) ++taken;  // and closed
    }
  });
  std::shared_ptr<sockrpc::Channel> channel = MakeChannel(
      sockrpc::LoadBalancing::kRoundRobin, absl::Hours(1), {},
      absl::StrCat("ipv4:127.0.0.1:", ports_[0], ",127.0.0.1:", closer->port));
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  int failed = 0;
  for (int i = 0; i < 30; ++i) {
    // (A call may meet the closed connection before the channel has seen
    // it close.)
    if (!Call(stub).ok()) ++failed;
  }
  stop.store(true);
  acceptor.join();
  EXPECT_LE(failed, 1);
  EXPECT_EQ(WaitForServed(30 - failed)[0], 30 - failed);
  EXPECT_EQ(taken.load(), 1);
}

}  // namespace
