// The server's count limits, each breached on purpose through the real
// server binaries: calls per connection and connections. Each test checks
// what docs/SECURITY.md promises: only the offending call or connection
// suffers, the server logs why (once per kind, summed up at close), and
// the peer learns why (RESOURCE_EXHAUSTED, or GOAWAY for a connection).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/hardening/limits_testing.h"
#include "tests/testing/raw_connection.h"

namespace {

using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::IncrementOnce;
using ::sockrpc::testing::IncrementRequestFrame;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::kSleepCallMethod;
using ::sockrpc::testing::LimitsTest;
using ::sockrpc::testing::Preface;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::ReadStreamOutcome;
using ::sockrpc::testing::RequestFrame;
using ::testing::HasSubstr;

// ---- Calls per connection ----

TEST_F(LimitsTest, CallsBeyondTheLimitGetResourceExhaustedAndTheRestGoOn) {
  Start("increment_server", {"--max_calls_per_connection", "2"});
  RawConnection raw = OpenWithPreface();
  // Two calls opened, their requests held back, so both stay in flight.
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod) +
                           HeadersFrame(2, kIncrementMethod) +
                           HeadersFrame(3, kIncrementMethod) +
                           IncrementRequestFrame(3, "c"),
                       kIoTimeout)
                  .ok());
  std::string character;
  absl::Status third = ReadCallOutcome(&raw, 3, kIoTimeout, &character);
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted) << third;
  EXPECT_EQ(third.message(),
            "too many calls in flight on one connection (limit 2)");

  // The two in flight are served, and once one ends a new call fits.
  ASSERT_TRUE(raw.Send(IncrementRequestFrame(1, "a"), kIoTimeout).ok());
  EXPECT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
  ASSERT_TRUE(raw.Send(HeadersFrame(4, kIncrementMethod) +
                           IncrementRequestFrame(4, "x"),
                       kIoTimeout)
                  .ok());
  EXPECT_TRUE(ReadCallOutcome(&raw, 4, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "y");
  ASSERT_TRUE(raw.Send(IncrementRequestFrame(2, "m"), kIoTimeout).ok());
  EXPECT_TRUE(ReadCallOutcome(&raw, 2, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "n");
  // The limit is per connection: others were never affected.
  EXPECT_TRUE(IncrementOnce(server_.address).ok());
}

// A call's slot is free by the time its status reaches the peer: with a
// limit of one, a call opened right after the last one's status is served.
// Each call sleeps past the server's watchdog tick, so the lead passes to
// another thread, which reads the next call while the handler's thread
// ends its call. (The server once freed the slot only after sending the
// status, and that other thread could read the next call in between.)
TEST_F(LimitsTest, SlotIsFreeOnceThePeerHasTheStatus) {
  Start("interop_server", {"--max_calls_per_connection", "1"});
  RawConnection raw = OpenWithPreface();
  sockrpc::interop::SleepRequest sleep;
  sleep.set_sleep_ms(3);
  constexpr int kCalls = 300;
  for (int i = 0; i < kCalls; ++i) {
    const uint32_t stream_id = 2 * i + 1;
    ASSERT_TRUE(raw.Send(HeadersFrame(stream_id, kSleepCallMethod) +
                             RequestFrame(stream_id, sleep),
                         kIoTimeout)
                    .ok());
    size_t message_bytes = 0;
    absl::Status outcome =
        ReadStreamOutcome(&raw, stream_id, kIoTimeout, &message_bytes);
    ASSERT_TRUE(outcome.ok()) << "call " << i << ": " << outcome;
  }
}

TEST_F(LimitsTest, CallsBeyondTheLimitAreLogged) {
  Start("increment_server", {"--max_calls_per_connection", "1"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod) +
                           HeadersFrame(2, kIncrementMethod),
                       kIoTimeout)
                  .ok());
  std::string character;
  EXPECT_EQ(ReadCallOutcome(&raw, 2, kIoTimeout, &character).code(),
            absl::StatusCode::kResourceExhausted);
  ExpectLogged("too many calls in flight on one connection");
}

// A peer that pipelines calls over its limit and never stops: each refusal
// is answered, but only the first is logged, and the rest are summed up in
// one line when the connection closes (not a line per call: 71 MB of log
// in 15 s, once).
TEST_F(LimitsTest, RepeatedRefusalsAreLoggedOnceAndSummedUpAtClose) {
  Start("increment_server", {"--max_calls_per_connection", "1"});
  constexpr uint32_t kRefused = 2000;
  {
    RawConnection raw = OpenWithPreface();
    // Stream 1 stays in flight (its request never comes); all after it are
    // refused.
    std::string calls;
    for (uint32_t id = 1; id <= kRefused + 1; ++id) {
      calls += HeadersFrame(id, kIncrementMethod);
    }
    ASSERT_TRUE(raw.Send(calls, kIoTimeout).ok());
    std::string character;
    EXPECT_EQ(
        ReadCallOutcome(&raw, kRefused + 1, kIoTimeout, &character).code(),
        absl::StatusCode::kResourceExhausted);
  }  // closes the connection
  ExpectLogged(absl::StrCat("closed after ", kRefused - 1,
                            " more refused calls, not logged one by one "
                            "(too many calls in flight: ",
                            kRefused - 1, ")"));
  int refusal_lines = 0;
  for (absl::string_view line :
       absl::StrSplit(server_.process->StderrText(), '\n')) {
    if (absl::StrContains(line, "too many calls in flight on one")) {
      ++refusal_lines;
    }
  }
  EXPECT_EQ(refusal_lines, 1) << server_.process->StderrText().substr(0, 2000);
}

// ---- Connections per server ----

TEST_F(LimitsTest, ConnectionBeyondTheLimitGetsGoAwayResourceExhausted) {
  Start("increment_server", {"--max_connections", "2"});
  RawConnection first = OpenWithPreface();
  RawConnection second = OpenWithPreface();

  RawConnection third = OpenRaw();
  ASSERT_TRUE(third.ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&third, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(goaway->message(), "server has too many connections (limit 2)");
  EXPECT_EQ(goaway->last_stream_id(), 0u);
  EXPECT_TRUE(third.WaitForClose(kIoTimeout).ok());
  ExpectLogged("refused: already 2 connections (max_connections)");

  // The two admitted connections keep working.
  std::string character;
  for (RawConnection* raw : {&first, &second}) {
    ASSERT_TRUE(raw->Send(HeadersFrame(1, kIncrementMethod) +
                              IncrementRequestFrame(1, "p"),
                          kIoTimeout)
                    .ok());
    EXPECT_TRUE(ReadCallOutcome(raw, 1, kIoTimeout, &character).ok());
    EXPECT_EQ(character, "q");
  }
}

TEST_F(LimitsTest, ChannelRefusedForTooManyConnectionsFailsAndLaterSucceeds) {
  Start("increment_server", {"--max_connections", "1"});
  auto holder = std::make_unique<RawConnection>(OpenWithPreface());
  // The client turns a GOAWAY into UNAVAILABLE (the call was never
  // processed, so it may be retried), with the server's reason in it.
  absl::Status refused = IncrementOnce(server_.address);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("RESOURCE_EXHAUSTED: server has too many connections"));

  holder.reset();  // frees the slot, once the server has seen the close
  const absl::Time deadline = absl::Now() + kIoTimeout;
  absl::Status status;
  do {
    status = IncrementOnce(server_.address);
  } while (!status.ok() && absl::Now() < deadline);
  EXPECT_TRUE(status.ok()) << status;
}

// Connections whose peers left before the server took them are not open
// connections: a churning peer that never holds more than one connection
// must not fill max_connections with them and get newcomers refused.
TEST_F(LimitsTest, PeersGoneBeforeTheirAcceptDoNotFillMaxConnections) {
  Start("increment_server", {"--max_connections", "20"});
  // While the server is stopped, 100 peers connect (the kernel queues them)
  // and leave, then one comes to stay.
  ASSERT_TRUE(server_.process->Stop(kIoTimeout).ok());
  for (int i = 0; i < 100; ++i) {
    RawConnection gone = OpenRaw();
  }
  RawConnection staying = OpenRaw();
  ASSERT_TRUE(staying
                  .Send(Preface() + HeadersFrame(1, kIncrementMethod) +
                            IncrementRequestFrame(1, "a"),
                        kIoTimeout)
                  .ok());
  ASSERT_TRUE(server_.process->Signal(SIGCONT).ok());

  ASSERT_TRUE(staying.ReadPreface(kIoTimeout).ok());
  std::string character;
  absl::Status served = ReadCallOutcome(&staying, 1, kIoTimeout, &character);
  EXPECT_TRUE(served.ok()) << served << "\n" << server_.process->StderrText();
  EXPECT_EQ(character, "b");
  EXPECT_FALSE(
      absl::StrContains(server_.process->StderrText(), "(max_connections)"))
      << server_.process->StderrText();
}

}  // namespace
