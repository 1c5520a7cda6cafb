// End-to-end tests of Increment calls over every transport: the real
// increment_server binary, started as a child process, called over real
// sockets by sockrpc channels, by increment_client processes, and by a
// hand-made raw peer.
//
// Each test runs on a filesystem socket, an abstract socket and TCP on
// 127.0.0.1 with an ephemeral port. The server's start-up, socket files and
// shutdown are tested in e2e_server_lifecycle_test.cc.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_calls.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/utf8.h"
#include "transport/sync.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ChannelOptions;
using ::sockrpc::ClientContext;
using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::ExpectServes;
using ::sockrpc::testing::Increment;
using ::sockrpc::testing::kCallTimeout;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::MakeChannel;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartIncrementServer;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::Transport;
using ::sockrpc::testing::TransportName;
using ::sockrpc::testing::UniqueListenAddress;
using ::sockrpc::testing::Utf8;
using ::testing::HasSubstr;

// A server on the transport of the test's parameter, started for each test.
class IncrementOverTransportTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { StartServer({}); }

  // (Re)starts the test's server with `flags`.
  void StartServer(const std::vector<std::string>& flags) {
    server_.process.reset();
    absl::StatusOr<StartedServer> server =
        StartIncrementServer(UniqueListenAddress(GetParam(), dir_), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Declared first so that it is removed after the server has gone.
  TempDir dir_;
  StartedServer server_;
};

INSTANTIATE_TEST_SUITE_P(
    AllTransports, IncrementOverTransportTest,
    ::testing::Values(Transport::kUnixPath, Transport::kUnixAbstract,
                      Transport::kTcp),
    [](const ::testing::TestParamInfo<Transport>& info) {
      return TransportName(info.param);
    });

TEST_P(IncrementOverTransportTest, RepliesWithTheNextCharacter) {
  increment::Increment::Stub stub(MakeChannel(server_.address));
  EXPECT_EQ(Increment(stub, "A").value_or("<error>"), "B");
  EXPECT_EQ(Increment(stub, "z").value_or("<error>"), "{");
  EXPECT_EQ(Increment(stub, "\xc3\xa9").value_or("<error>"),  // é
            "\xc3\xaa");                                      // ê
}

// The form that fills the caller's reply (gRPC's shape): one reply message
// serves call after call, each writing it whole, and an error leaves the
// status to say so.
TEST_P(IncrementOverTransportTest, FillingFormWritesEachReplyIntoOneMessage) {
  increment::Increment::Stub stub(MakeChannel(server_.address));
  increment::IncrementRequest request;
  increment::IncrementReply reply;
  for (const char* character : {"A", "z", "a"}) {
    request.set_character(character);
    ASSERT_TRUE(stub.Increment(request, &reply).ok());
    EXPECT_EQ(reply.character(), std::string(1, character[0] + 1));
  }
  request.set_character("AB");
  absl::Status two = stub.Increment(request, &reply);
  EXPECT_EQ(two.code(), absl::StatusCode::kInvalidArgument) << two;
  sockrpc::ClientContext context;
  request.set_character("C");
  ASSERT_TRUE(stub.Increment(&context, request, &reply).ok());
  EXPECT_EQ(reply.character(), "D");
}

TEST_P(IncrementOverTransportTest,
       RejectsAnythingButOneCharacterWithTheServersMessage) {
  increment::Increment::Stub stub(MakeChannel(server_.address));
  absl::StatusOr<std::string> two = Increment(stub, "AB");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument)
      << two.status();
  EXPECT_THAT(two.status().message(),
              HasSubstr("exactly one UTF-8 character, got \"AB\""));

  absl::StatusOr<std::string> none = Increment(stub, "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument)
      << none.status();
  EXPECT_THAT(none.status().message(),
              HasSubstr("exactly one UTF-8 character, got \"\""));

  // An error is one call's outcome: the channel goes on working.
  EXPECT_EQ(Increment(stub, "A").value_or("<error>"), "B");
}

// Sixteen threads each make 1000 calls on one channel to `address`; each
// must get the reply to its own call.
void ExpectSixteenThreadsGetTheirOwnReplies(const std::string& address) {
  constexpr int kThreads = 16;
  constexpr int kCallsPerThread = 1000;
  // Every call sends its own character (CJK ideographs from U+4E00 on), so
  // a reply handed to the wrong call cannot go unnoticed.
  constexpr uint32_t kFirst = 0x4e00;
  std::shared_ptr<Channel> channel = MakeChannel(address);
  std::atomic<int> wrong{0};
  sockrpc::Mutex mu;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      increment::Increment::Stub stub(channel);
      for (int i = 0; i < kCallsPerThread; ++i) {
        uint32_t c = kFirst + static_cast<uint32_t>(t * kCallsPerThread + i);
        absl::StatusOr<std::string> reply = Increment(stub, Utf8(c));
        if (!reply.ok() || *reply != Utf8(c + 1)) {
          ++wrong;
          sockrpc::MutexLock lock(&mu);
          if (first_failure.empty()) {
            first_failure = absl::StrCat(
                "thread ", t, " call ", i, ": sent U+", absl::Hex(c), ", got ",
                reply.ok() ? absl::CEscape(*reply) : reply.status().ToString());
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0) << first_failure;
}

TEST_P(IncrementOverTransportTest,
       SixteenThreadsOnOneChannelEachGetTheirOwnReplies) {
  ExpectSixteenThreadsGetTheirOwnReplies(server_.address);
}

// Where io_uring cannot be used (SOCKRPC_IO_URING=0 stands for a seccomp
// filter or an old kernel), the reader waits with poll() and reads: the
// same replies, the same handing over of the reader role.
TEST_P(IncrementOverTransportTest,
       SixteenThreadsWithoutIoUringEachGetTheirOwnReplies) {
  ASSERT_EQ(::setenv("SOCKRPC_IO_URING", "0", 1), 0);
  absl::Cleanup unset = [] { ::unsetenv("SOCKRPC_IO_URING"); };
  ExpectSixteenThreadsGetTheirOwnReplies(server_.address);
}

// A thread pipelining 64 asynchronous calls with batch_call_starts, and a
// second thread making blocking calls on the same channel meanwhile.
TEST_P(IncrementOverTransportTest,
       BatchedPipelineOfSixtyFourCallsEachGetTheirOwnReplies) {
  constexpr int kCalls = 3000;
  constexpr int kInFlight = 64;
  constexpr uint32_t kFirst = 0x4e00;
  ChannelOptions options;
  options.batch_call_starts = true;
  std::shared_ptr<Channel> channel = MakeChannel(server_.address, options);
  std::thread blocking([&] {
    increment::Increment::Stub stub(channel);
    for (int i = 0; i < 200; ++i) {
      EXPECT_EQ(Increment(stub, "A").value_or("<error>"), "B");
    }
  });
  increment::Increment::Stub stub(channel);
  std::deque<std::pair<uint32_t, sockrpc::UnaryFuture<increment::IncrementReply>>>
      pending;
  int started = 0;
  int wrong = 0;
  std::string first_failure;
  auto start = [&] {
    uint32_t c = kFirst + static_cast<uint32_t>(started++);
    increment::IncrementRequest request;
    request.set_character(Utf8(c));
    pending.emplace_back(c, stub.AsyncIncrement(request));
  };
  while (started < kInFlight) start();
  while (!pending.empty()) {
    auto [c, future] = std::move(pending.front());
    pending.pop_front();
    absl::StatusOr<increment::IncrementReply> reply = future.Get();
    if (!reply.ok() || reply->character() != Utf8(c + 1)) {
      if (wrong++ == 0) {
        first_failure = absl::StrCat(
            "sent U+", absl::Hex(c), ", got ",
            reply.ok() ? absl::CEscape(reply->character())
                       : reply.status().ToString());
      }
    }
    if (started < kCalls) start();
  }
  blocking.join();
  EXPECT_EQ(wrong, 0) << first_failure;
}

TEST_P(IncrementOverTransportTest,
       FiftyChannelsCallingAtOnceEachGetTheirOwnReplies) {
  constexpr int kChannels = 50;
  constexpr int kCallsPerChannel = 20;
  constexpr uint32_t kFirst = 0x4e00;
  absl::Barrier* start = new absl::Barrier(kChannels);
  std::atomic<int> wrong{0};
  sockrpc::Mutex mu;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kChannels; ++t) {
    threads.emplace_back([&, t] {
      // Each its own channel, so its own connection.
      increment::Increment::Stub stub(MakeChannel(server_.address));
      if (start->Block()) delete start;  // all connect and call together
      for (int i = 0; i < kCallsPerChannel; ++i) {
        uint32_t c = kFirst + static_cast<uint32_t>(t * kCallsPerChannel + i);
        absl::StatusOr<std::string> reply = Increment(stub, Utf8(c));
        if (!reply.ok() || *reply != Utf8(c + 1)) {
          ++wrong;
          sockrpc::MutexLock lock(&mu);
          if (first_failure.empty()) {
            first_failure = absl::StrCat(
                "channel ", t, " call ", i, ": sent U+", absl::Hex(c),
                ", got ",
                reply.ok() ? absl::CEscape(*reply) : reply.status().ToString());
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0) << first_failure;
}

TEST_P(IncrementOverTransportTest, ThreeClientProcessesAtOnceEachGetTheirReply) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"A", "B"}, {"m", "n"}, {"\xc3\xa9", "\xc3\xaa"}};
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (const auto& [sent, expected] : cases) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> client = ChildProcess::Start(
        BinaryPath("increment_client"),
        {"--target", server_.address, "--char", sent});
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(*std::move(client));
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    absl::StatusOr<int> status = clients[i]->WaitForExit(kProcessTimeout);
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_TRUE(clients[i]->WaitForOutputEnd(kProcessTimeout).ok());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << DescribeWaitStatus(*status) << "\n" << clients[i]->StderrText();
    EXPECT_EQ(clients[i]->StdoutText(),
              absl::StrCat("char from server = ", cases[i].second, "\n"));
  }
}

TEST_P(IncrementOverTransportTest,
       DeadlineLimitedCallToAStoppedServerEndsInTime) {
  std::shared_ptr<Channel> channel = MakeChannel(server_.address);
  increment::Increment::Stub stub(channel);
  ASSERT_EQ(Increment(stub, "A").value_or("<error>"), "B");  // connected

  absl::Status stopped = server_.process->Stop(kProcessTimeout);
  ASSERT_TRUE(stopped.ok()) << stopped;
  struct Resume {
    ChildProcess* process;
    ~Resume() { (void)process->Signal(SIGCONT); }
  } resume{server_.process.get()};

  for (const char* how : {"same channel", "new channel"}) {
    increment::Increment::Stub call_stub(
        absl::string_view(how) == "same channel"
            ? channel
            : MakeChannel(server_.address));
    ClientContext context;
    context.set_timeout(absl::Milliseconds(300));
    increment::IncrementRequest request;
    request.set_character("C");
    const absl::Time start = absl::Now();
    absl::StatusOr<increment::IncrementReply> reply =
        call_stub.Increment(&context, request);
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded)
        << how << ": " << reply.status();
    EXPECT_GE(took, absl::Milliseconds(250)) << how;
    EXPECT_LT(took, absl::Seconds(3)) << how;
  }

  ASSERT_TRUE(server_.process->Signal(SIGCONT).ok());
  // Once resumed, the server serves the old channel and new ones again.
  EXPECT_EQ(Increment(stub, "D").value_or("<error>"), "E");
  ExpectServes(server_.address);
}

TEST_P(IncrementOverTransportTest,
       UnknownMethodIsUnimplementedAndTheChannelStaysUsable) {
  std::shared_ptr<Channel> channel = MakeChannel(server_.address);
  increment::IncrementRequest request;
  request.set_character("A");
  increment::IncrementReply reply;

  absl::Status method = channel->CallUnary(
      nullptr, "/increment.Increment/Nope", request, &reply);
  EXPECT_EQ(method.code(), absl::StatusCode::kUnimplemented) << method;
  EXPECT_THAT(method.message(),
              HasSubstr("unknown method Nope in service increment.Increment"));

  absl::Status service =
      channel->CallUnary(nullptr, "/nope.Nope/X", request, &reply);
  EXPECT_EQ(service.code(), absl::StatusCode::kUnimplemented) << service;
  EXPECT_THAT(service.message(), HasSubstr("unknown service nope.Nope"));

  // Names not of the shape /package.Service/Method (PROTOCOL.md 6.5):
  // an empty service or method part, or a slash too many.
  for (const char* name : {"/increment.Increment/", "//Increment",
                           "/increment.Increment/Increment/x", "increment"}) {
    absl::Status malformed =
        channel->CallUnary(nullptr, name, request, &reply);
    EXPECT_EQ(malformed.code(), absl::StatusCode::kUnimplemented) << name;
    EXPECT_EQ(malformed.message(),
              absl::StrCat("malformed method name \"", name,
                           "\" (expected /package.Service/Method)"));
  }

  ASSERT_TRUE(channel->CallUnary(nullptr, kIncrementMethod, request, &reply)
                  .ok());
  EXPECT_EQ(reply.character(), "B");
}

TEST_P(IncrementOverTransportTest,
       UnknownMethodLeavesTheSameConnectionUsable) {
  // A raw peer, so that "the same connection" is certain.
  absl::StatusOr<RawConnection> raw =
      RawConnection::Open(server_.address, kCallTimeout);
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::string bytes;
  sockrpc::AppendPreface(&bytes);
  bytes += sockrpc::testing::HeadersFrame(1, "/increment.Increment/Nope");
  bytes += sockrpc::testing::IncrementRequestFrame(1, "A");
  bytes += sockrpc::testing::HeadersFrame(3, "/nope.Nope/X");
  bytes += sockrpc::testing::IncrementRequestFrame(3, "A");
  ASSERT_TRUE(raw->Send(bytes, kCallTimeout).ok());
  ASSERT_TRUE(raw->ReadPreface(kCallTimeout).ok());
  std::string character;
  absl::Status first =
      sockrpc::testing::ReadCallOutcome(&*raw, 1, kCallTimeout, &character);
  EXPECT_EQ(first.code(), absl::StatusCode::kUnimplemented) << first;
  absl::Status second =
      sockrpc::testing::ReadCallOutcome(&*raw, 3, kCallTimeout, &character);
  EXPECT_EQ(second.code(), absl::StatusCode::kUnimplemented) << second;

  bytes = sockrpc::testing::HeadersFrame(5, kIncrementMethod) +
          sockrpc::testing::IncrementRequestFrame(5, "y");
  ASSERT_TRUE(raw->Send(bytes, kCallTimeout).ok());
  absl::Status third =
      sockrpc::testing::ReadCallOutcome(&*raw, 5, kCallTimeout, &character);
  EXPECT_TRUE(third.ok()) << third;
  EXPECT_EQ(character, "z");
}

TEST_P(IncrementOverTransportTest, RequestMetadataIsAccepted) {
  increment::Increment::Stub stub(MakeChannel(server_.address));
  ClientContext context;
  context.set_timeout(kCallTimeout);
  context.AddMetadata("x-request-id", "42");
  context.AddMetadata("x-request-id", "43");  // keys may repeat
  context.AddMetadata("trace-bin", std::string("\x00\xff\x01", 3));
  increment::IncrementRequest request;
  request.set_character("A");
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");
}

TEST_P(IncrementOverTransportTest,
       AContextUsedForASecondCallFailsItWithFailedPrecondition) {
  increment::Increment::Stub stub(MakeChannel(server_.address));
  increment::IncrementRequest request;
  request.set_character("A");
  ClientContext context;
  context.set_timeout(kCallTimeout);
  ASSERT_TRUE(stub.Increment(&context, request).ok());

  // Once more with the same context: refused before anything is sent, and
  // saying why (it used to fail the call with whatever state the first
  // call left, CANCELLED after a cancel).
  absl::StatusOr<increment::IncrementReply> again =
      stub.Increment(&context, request);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr("served a call already"));
  ClientContext cancelled;
  cancelled.TryCancel();
  EXPECT_EQ(stub.Increment(&cancelled, request).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(stub.Increment(&cancelled, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A fresh context works, on the same channel.
  ClientContext fresh;
  fresh.set_timeout(kCallTimeout);
  EXPECT_TRUE(stub.Increment(&fresh, request).ok());
}

// Channels come from CreateChannel() and CreateChannelFromConnector() only.
static_assert(!std::is_constructible_v<Channel, std::string,
                                       sockrpc::ChannelConnector,
                                       ChannelOptions>);

TEST_P(IncrementOverTransportTest,
       RequestOverTheChannelLimitFailsLocallyAndTheChannelGoesOn) {
  ChannelOptions options;
  options.max_frame_size = 64;
  increment::Increment::Stub stub(MakeChannel(server_.address, options));
  absl::StatusOr<std::string> big = Increment(stub, std::string(100, 'x'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted)
      << big.status();
  EXPECT_EQ(Increment(stub, "A").value_or("<error>"), "B");
}

TEST_P(IncrementOverTransportTest,
       RequestOverTheServerLimitIsResourceExhaustedAndTheChannelGoesOn) {
  StartServer({"--max_frame_size", "1024"});
  increment::Increment::Stub stub(MakeChannel(server_.address));
  ASSERT_EQ(Increment(stub, "A").value_or("<error>"), "B");  // connected

  // 4000 characters: a 4003-byte IncrementRequest.
  absl::StatusOr<std::string> big = Increment(stub, std::string(4000, 'x'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted)
      << big.status();
  EXPECT_THAT(big.status().message(),
              HasSubstr("frame of 4003 bytes exceeds the limit of 1024 bytes"));
  EXPECT_EQ(Increment(stub, "y").value_or("<error>"), "z");
}

TEST_P(IncrementOverTransportTest,
       RequestOverTheServerLimitLeavesTheSameConnectionUsable) {
  StartServer({"--max_frame_size", "1024"});
  absl::StatusOr<RawConnection> raw =
      RawConnection::Open(server_.address, kCallTimeout);
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::string bytes;
  sockrpc::AppendPreface(&bytes);
  bytes += sockrpc::testing::HeadersFrame(1, kIncrementMethod);
  bytes += sockrpc::testing::IncrementRequestFrame(1, std::string(4000, 'x'));
  bytes += sockrpc::testing::HeadersFrame(2, kIncrementMethod);
  bytes += sockrpc::testing::IncrementRequestFrame(2, "A");
  ASSERT_TRUE(raw->Send(bytes, kCallTimeout).ok());
  ASSERT_TRUE(raw->ReadPreface(kCallTimeout).ok());
  std::string character;
  absl::Status big =
      sockrpc::testing::ReadCallOutcome(&*raw, 1, kCallTimeout, &character);
  EXPECT_EQ(big.code(), absl::StatusCode::kResourceExhausted) << big;
  absl::Status next =
      sockrpc::testing::ReadCallOutcome(&*raw, 2, kCallTimeout, &character);
  EXPECT_TRUE(next.ok()) << next;
  EXPECT_EQ(character, "B");
}

TEST_P(IncrementOverTransportTest,
       SigkilledServerMakesTheNextCallUnavailableAndARestartHealsTheChannel) {
  std::shared_ptr<Channel> channel = MakeChannel(server_.address);
  increment::Increment::Stub stub(channel);
  ASSERT_EQ(Increment(stub, "A").value_or("<error>"), "B");

  const std::string address = server_.address;  // the real port, for TCP
  ASSERT_TRUE(server_.process->Signal(SIGKILL).ok());
  absl::StatusOr<int> status = server_.process->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFSIGNALED(*status)) << DescribeWaitStatus(*status);

  absl::StatusOr<std::string> dead = Increment(stub, "B");
  EXPECT_EQ(dead.status().code(), absl::StatusCode::kUnavailable)
      << dead.status();

  absl::StatusOr<StartedServer> restarted = StartIncrementServer(address);
  if (!restarted.ok() && GetParam() == Transport::kTcp &&
      absl::StrContains(restarted.status().message(), "in use")) {
    GTEST_SKIP() << "port of " << address
                 << " was taken meanwhile: " << restarted.status();
  }
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  server_ = *std::move(restarted);
  EXPECT_EQ(server_.address, address);
  EXPECT_EQ(Increment(stub, "C").value_or("<error>"), "D");
}

}  // namespace
