// End-to-end tests of interceptors and the metadata limit, as README.md
// and docs/PROTOCOL.md describe them: the real increment_server and
// increment_client binaries with their interceptor flags (--log_calls,
// --require_token, --token, --verbose), and in-process channels and
// servers that check in which order interceptors run and that a call an
// interceptor stops never reaches the server.
#include <sys/wait.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/sync.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/interceptor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "server/interceptor.h"
#include "server/server.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/local_server.h"
#include "tests/testing/temp_dir.h"
#include "transport/metadata.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ChannelOptions;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientInterceptor;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerInterceptor;
using ::sockrpc::testing::ClientRun;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::LocalServer;
using ::sockrpc::testing::RunIncrementClient;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartIncrementServer;
using ::sockrpc::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kIncrementMethod[] = "/increment.Increment/Increment";
constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// The lines increment_server --log_calls has logged (standard error) so far:
// one per call.
std::vector<std::string> CallLines(const sockrpc::testing::ChildProcess& p) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(p.StderrText(), '\n')) {
    if (absl::StartsWith(line, "call ")) lines.emplace_back(line);
  }
  return lines;
}

int ExitCode(const ClientRun& run) {
  return WIFEXITED(run.wait_status) ? WEXITSTATUS(run.wait_status) : -1;
}

std::shared_ptr<Channel> MakeChannel(const std::string& target,
                                     const ChannelOptions& options = {}) {
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      sockrpc::CreateChannel(target, options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

// One Increment call of "A" through `channel`, with `context`'s metadata.
absl::Status IncrementA(Channel& channel, ClientContext* context) {
  context->set_timeout(kCallTimeout);
  increment::IncrementRequest request;
  request.set_character("A");
  increment::IncrementReply reply;
  absl::Status status =
      channel.CallUnary(context, kIncrementMethod, request, &reply);
  if (status.ok() && reply.character() != "B") {
    return absl::InternalError(absl::StrCat("got ", reply.character()));
  }
  return status;
}

// ---- The demo binaries' interceptor flags ----

// A fresh increment_server on a socket file, per test.
class DemoInterceptorTest : public ::testing::Test {
 protected:
  void StartServer(const std::vector<std::string>& flags) {
    absl::StatusOr<StartedServer> server =
        StartIncrementServer("unix:" + dir_.File("sock"), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  absl::StatusOr<ClientRun> RunClient(std::vector<std::string> args) {
    args.insert(args.begin(), {"--target", server_.address});
    return RunIncrementClient(args);
  }

  // Declared first so that it is removed after the server has gone.
  TempDir dir_;
  StartedServer server_;
};

TEST_F(DemoInterceptorTest, LogCallsPrintsOneLinePerCallWithStatusAndTime) {
  StartServer({"--log_calls"});
  absl::StatusOr<ClientRun> ok = RunClient({"--char", "A"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ExitCode(*ok), 0) << ok->stderr_text;
  // The line comes after the reply went out: wait for it, so that the two
  // calls' lines are in order.
  ASSERT_TRUE(server_.process->WaitForLine(": OK in", kProcessTimeout).ok());
  absl::StatusOr<ClientRun> bad = RunClient({"--char", "AB"});
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(ExitCode(*bad), 1);

  ASSERT_TRUE(
      server_.process->WaitForLine("INVALID_ARGUMENT", kProcessTimeout).ok());
  // The peer of a unix-socket client is the server's own socket address.
  const std::string prefix =
      absl::StrCat("call ", kIncrementMethod, " from ", server_.address, ": ");
  std::vector<std::string> lines = CallLines(*server_.process);
  ASSERT_EQ(lines.size(), 2u) << server_.process->StderrText();
  EXPECT_TRUE(absl::StartsWith(lines[0], prefix)) << lines[0];
  EXPECT_THAT(lines[0], MatchesRegex(".*: OK in [0-9.]+(ns|us|ms|s)"));
  EXPECT_TRUE(absl::StartsWith(lines[1], prefix)) << lines[1];
  EXPECT_THAT(lines[1],
              MatchesRegex(".*: INVALID_ARGUMENT: character must be exactly "
                           "one UTF-8 character, got \"AB\" in "
                           "[0-9.]+(ns|us|ms|s)"));
}

TEST_F(DemoInterceptorTest, RequireTokenRefusesAClientWithoutToken) {
  StartServer({"--require_token", "s3cret"});
  absl::StatusOr<ClientRun> run = RunClient({"--char", "A"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 1) << DescribeWaitStatus(run->wait_status);
  EXPECT_EQ(run->stdout_text, "");
  EXPECT_THAT(run->stderr_text,
              HasSubstr("failed: UNAUTHENTICATED: missing or wrong "
                        "\"authorization: Bearer <token>\" metadata"));
}

TEST_F(DemoInterceptorTest, RequireTokenServesTheRightToken) {
  StartServer({"--require_token", "s3cret"});
  absl::StatusOr<ClientRun> run =
      RunClient({"--char", "A", "--token", "s3cret"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 0) << run->stderr_text;
  EXPECT_EQ(run->stdout_text, "char from server = B\n");
}

TEST_F(DemoInterceptorTest, RequireTokenRefusesAWrongToken) {
  StartServer({"--require_token", "s3cret"});
  absl::StatusOr<ClientRun> run =
      RunClient({"--char", "A", "--token", "guess"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 1);
  EXPECT_THAT(run->stderr_text, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(DemoInterceptorTest, RefusedCallIsStillLoggedWhenTheLoggerComesFirst) {
  // increment_server lists the logger before the authenticator, so the
  // logger's OnCallEnd sees the authenticator's refusal.
  StartServer({"--log_calls", "--require_token", "s3cret"});
  absl::StatusOr<ClientRun> run = RunClient({"--char", "A"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 1);
  absl::StatusOr<std::string> line =
      server_.process->WaitForLine("UNAUTHENTICATED", kProcessTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, HasSubstr(absl::StrCat("call ", kIncrementMethod)));
}

TEST_F(DemoInterceptorTest, VerboseClientPrintsTheTimingLineOnStderr) {
  StartServer({});
  absl::StatusOr<ClientRun> run = RunClient({"--char", "y", "--verbose"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 0);
  EXPECT_EQ(run->stdout_text, "char from server = z\n");
  EXPECT_THAT(run->stderr_text,
              MatchesRegex("/increment.Increment/Increment: OK in "
                           "[0-9.]+(ns|us|ms|s)\n"));
}

TEST_F(DemoInterceptorTest, VerboseClientReportsAFailedCallsStatus) {
  StartServer({"--require_token", "s3cret"});
  absl::StatusOr<ClientRun> run = RunClient({"--char", "A", "--verbose"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(ExitCode(*run), 1);
  EXPECT_THAT(run->stderr_text,
              HasSubstr("/increment.Increment/Increment: UNAUTHENTICATED: "));
}

// ---- The metadata limit, against the real server ----

TEST_F(DemoInterceptorTest, RequestMetadataOverTheLimitIsRefusedBeforeSending) {
  StartServer({"--log_calls"});
  std::shared_ptr<Channel> channel = MakeChannel(server_.address);
  ASSERT_NE(channel, nullptr);

  // 4 + 16381 = 16385 bytes: one over kDefaultMaxMetadataSize.
  ClientContext too_much;
  too_much.AddMetadata("blob", std::string(16381, 'x'));
  absl::Status status = IncrementA(*channel, &too_much);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(status.message(),
            "metadata of 16385 bytes exceeds the limit of 16384 bytes");

  // Exactly at the limit goes through.
  ClientContext at_limit;
  at_limit.AddMetadata("blob", std::string(16380, 'x'));
  EXPECT_TRUE(IncrementA(*channel, &at_limit).ok());

  // The server logged the second call only: the first never left.
  ASSERT_TRUE(server_.process->WaitForLine(": OK in", kProcessTimeout).ok());
  EXPECT_EQ(CallLines(*server_.process).size(), 1u)
      << server_.process->StderrText();
}

TEST_F(DemoInterceptorTest, ServerRefusesRequestMetadataOverItsLimit) {
  StartServer({"--log_calls"});
  ChannelOptions options;
  options.max_metadata_size = 64 * 1024;  // the client lets it through
  std::shared_ptr<Channel> channel = MakeChannel(server_.address, options);
  ASSERT_NE(channel, nullptr);

  ClientContext context;
  context.AddMetadata("blob", std::string(19996, 'x'));
  absl::Status status = IncrementA(*channel, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(status.message(),
            "metadata of 20000 bytes exceeds the limit of 16384 bytes");

  // The connection stays usable. The refused call reached no interceptor:
  // the runtime ended it before any handler was chosen to run.
  ClientContext small;
  EXPECT_TRUE(IncrementA(*channel, &small).ok());
  ASSERT_TRUE(server_.process->WaitForLine(": OK in", kProcessTimeout).ok());
  EXPECT_EQ(CallLines(*server_.process).size(), 1u)
      << server_.process->StderrText();
}

// ---- Interceptor order, in process ----

// Appends "<name>.start" and "<name>.end" to a shared journal; fails its
// OnCallStart with `refusal` if that is not OK.
class JournalInterceptor final : public ClientInterceptor {
 public:
  JournalInterceptor(std::string name, std::vector<std::string>* journal,
                     absl::Status refusal = absl::OkStatus())
      : name_(std::move(name)), journal_(journal), refusal_(refusal) {}

  absl::Status OnCallStart(absl::string_view method,
                           ClientContext& context) override {
    journal_->push_back(name_ + ".start");
    start_thread_ = std::this_thread::get_id();
    return refusal_;
  }
  void OnCallEnd(absl::string_view method, const ClientContext& context,
                 const absl::Status& status, absl::Duration elapsed) override {
    journal_->push_back(absl::StrCat(name_, ".end ", status.ok() ? "OK" :
                                     absl::StatusCodeToString(status.code())));
    end_thread_ = std::this_thread::get_id();
  }

  std::thread::id start_thread() const { return start_thread_; }
  std::thread::id end_thread() const { return end_thread_; }

 private:
  const std::string name_;
  std::vector<std::string>* const journal_;  // the test's; outlives this
  const absl::Status refusal_;
  std::thread::id start_thread_;
  std::thread::id end_thread_;
};

// Counts the calls that reach the server's interceptors and handlers.
class CountingServerInterceptor final : public ServerInterceptor {
 public:
  CountingServerInterceptor(std::string name,
                            std::vector<std::string>* journal,
                            sockrpc::Mutex* mu)
      : name_(std::move(name)), journal_(journal), mu_(mu) {}

  absl::Status OnCallStart(ServerContext& context) override {
    sockrpc::MutexLock lock(mu_);
    journal_->push_back(name_ + ".start");
    return absl::OkStatus();
  }
  void OnCallEnd(const ServerContext& context, const absl::Status& status,
                 absl::Duration elapsed) override {
    sockrpc::MutexLock lock(mu_);
    journal_->push_back(name_ + ".end");
  }

 private:
  const std::string name_;
  std::vector<std::string>* const journal_;  // guarded by *mu_
  sockrpc::Mutex* const mu_;
};

// Refuses every call with PERMISSION_DENIED.
class Refuser final : public ServerInterceptor {
 public:
  absl::Status OnCallStart(ServerContext& context) override {
    return absl::PermissionDeniedError("refused by the test");
  }
};

class PlainIncrement final : public increment::Increment::Service {
 public:
  absl::Status Increment(ServerContext* context,
                         const increment::IncrementRequest& request,
                         increment::IncrementReply* reply) override {
    sockrpc::MutexLock lock(&mu_);
    ++handled_;
    reply->set_character(std::string(1, request.character()[0] + 1));
    return absl::OkStatus();
  }
  int handled() {
    sockrpc::MutexLock lock(&mu_);
    return handled_;
  }

 private:
  sockrpc::Mutex mu_;
  int handled_ = 0;
};

// An in-process server on a socket file with the given interceptors.
class InProcessInterceptorTest : public ::testing::Test {
 protected:
  void Start(std::vector<ServerInterceptor*> interceptors) {
    sockrpc::ServerOptions options;
    options.interceptors = std::move(interceptors);
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_}, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::vector<std::string> ServerJournal() {
    sockrpc::MutexLock lock(&mu_);
    return server_journal_;
  }

  // Waits until the server's interceptors have made `size` entries: their
  // OnCallEnd runs after the STATUS went out, so possibly after the
  // client's call has returned.
  std::vector<std::string> ServerJournalOnceItHas(size_t size) {
    sockrpc::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return server_journal_.size() >= size;
    };
    mu_.AwaitWithDeadline(enough, absl::Now() + kCallTimeout);
    return server_journal_;
  }

  PlainIncrement service_;
  sockrpc::Mutex mu_;
  std::vector<std::string> server_journal_;
  std::unique_ptr<LocalServer> server_;
};

TEST_F(InProcessInterceptorTest, ClientStartsRunInOrderAndEndsInReverse) {
  Start({});
  std::vector<std::string> journal;
  JournalInterceptor first("first", &journal);
  JournalInterceptor second("second", &journal);
  ChannelOptions options;
  options.interceptors = {&first, &second};
  std::shared_ptr<Channel> channel = MakeChannel(server_->address(), options);
  ASSERT_NE(channel, nullptr);

  ClientContext context;
  ASSERT_TRUE(IncrementA(*channel, &context).ok());
  EXPECT_THAT(journal, ElementsAre("first.start", "second.start",
                                   "second.end OK", "first.end OK"));
  // A synchronous call runs both hooks on the calling thread.
  EXPECT_EQ(first.start_thread(), std::this_thread::get_id());
  EXPECT_EQ(first.end_thread(), std::this_thread::get_id());
}

TEST_F(InProcessInterceptorTest, FailingClientStartStopsTheCallBeforeSending) {
  CountingServerInterceptor counter("server", &server_journal_, &mu_);
  Start({&counter});
  std::vector<std::string> journal;
  JournalInterceptor first("first", &journal);
  JournalInterceptor refuser("refuser", &journal,
                             absl::PermissionDeniedError("no ticket"));
  JournalInterceptor third("third", &journal);
  ChannelOptions options;
  options.interceptors = {&first, &refuser, &third};
  std::shared_ptr<Channel> channel = MakeChannel(server_->address(), options);
  ASSERT_NE(channel, nullptr);

  ClientContext context;
  absl::Status status = IncrementA(*channel, &context);
  EXPECT_EQ(status, absl::PermissionDeniedError("no ticket"));
  // The refusing interceptor's OnCallEnd runs; the one after it sees
  // nothing at all.
  EXPECT_THAT(journal, ElementsAre("first.start", "refuser.start",
                                   "refuser.end PERMISSION_DENIED",
                                   "first.end PERMISSION_DENIED"));
  EXPECT_TRUE(ServerJournal().empty());
  EXPECT_EQ(service_.handled(), 0);

  // The server is reachable all the same: a channel without the refuser
  // gets through, and that call is the first the server sees.
  std::shared_ptr<Channel> plain = MakeChannel(server_->address());
  ClientContext again;
  ASSERT_TRUE(IncrementA(*plain, &again).ok());
  EXPECT_THAT(ServerJournalOnceItHas(2),
              ElementsAre("server.start", "server.end"));
  EXPECT_EQ(service_.handled(), 1);
}

TEST_F(InProcessInterceptorTest, AsyncCallEndsItsInterceptorsInGet) {
  Start({});
  std::vector<std::string> journal;
  JournalInterceptor only("only", &journal);
  ChannelOptions options;
  options.interceptors = {&only};
  std::shared_ptr<Channel> channel = MakeChannel(server_->address(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);

  increment::IncrementRequest request;
  request.set_character("A");
  sockrpc::UnaryFuture<increment::IncrementReply> future =
      stub.AsyncIncrement(request);
  EXPECT_THAT(journal, ElementsAre("only.start"));
  absl::StatusOr<increment::IncrementReply> reply = future.Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");
  EXPECT_THAT(journal, ElementsAre("only.start", "only.end OK"));
  EXPECT_EQ(only.end_thread(), std::this_thread::get_id());
}

TEST_F(InProcessInterceptorTest, ServerStartsRunInOrderAndEndsInReverse) {
  CountingServerInterceptor outer("outer", &server_journal_, &mu_);
  CountingServerInterceptor inner("inner", &server_journal_, &mu_);
  Start({&outer, &inner});
  std::shared_ptr<Channel> channel = MakeChannel(server_->address());
  ClientContext context;
  ASSERT_TRUE(IncrementA(*channel, &context).ok());
  EXPECT_THAT(ServerJournalOnceItHas(4),
              ElementsAre("outer.start", "inner.start", "inner.end",
                          "outer.end"));
}

TEST_F(InProcessInterceptorTest, FailingServerStartEndsTheCallWithoutHandler) {
  CountingServerInterceptor outer("outer", &server_journal_, &mu_);
  Refuser refuser;
  CountingServerInterceptor after("after", &server_journal_, &mu_);
  Start({&outer, &refuser, &after});
  std::shared_ptr<Channel> channel = MakeChannel(server_->address());
  ClientContext context;
  absl::Status status = IncrementA(*channel, &context);
  EXPECT_EQ(status, absl::PermissionDeniedError("refused by the test"));
  EXPECT_EQ(service_.handled(), 0);
  // The interceptor after the refuser sees neither start nor end.
  EXPECT_THAT(ServerJournalOnceItHas(2),
              ElementsAre("outer.start", "outer.end"));
}

}  // namespace
