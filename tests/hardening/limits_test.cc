// The server's limits, each breached on purpose through the real server
// binaries: calls per connection, connections, idle time, the write buffer
// of a client that does not read, metadata size, frame size, the
// handshake time and call deadlines. Each test checks what
// docs/SECURITY.md promises: only the offending connection (or call)
// suffers, the server logs why, and the peer learns why
// (RESOURCE_EXHAUSTED, GOAWAY or DEADLINE_EXCEEDED) where the protocol
// allows.
#include <signal.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::HeadersFrameWithMetadata;
using ::sockrpc::testing::IncrementOnce;
using ::sockrpc::testing::IncrementRequestFrame;
using ::sockrpc::testing::kEmptyCallMethod;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::kSleepCallMethod;
using ::sockrpc::testing::kUnaryCallMethod;
using ::sockrpc::testing::Preface;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::ReadStreamOutcome;
using ::sockrpc::testing::RequestFrame;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::VmRssKilobytes;
using ::testing::HasSubstr;

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const std::string& binary, const std::vector<std::string>& flags) {
    absl::StatusOr<StartedServer> server =
        StartServerBinary(binary, absl::StrCat("unix:", dir_.File("s")), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A raw connection that has sent its preface and read the server's.
  RawConnection OpenWithPreface() {
    RawConnection raw = OpenRaw();
    if (!raw.Send(Preface(), kIoTimeout).ok() ||
        !raw.ReadPreface(kIoTimeout).ok()) {
      throw std::runtime_error("no preface exchange");
    }
    return raw;
  }
  RawConnection OpenRaw() {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(server_.address, kIoTimeout);
    if (!raw.ok()) throw std::runtime_error(raw.status().ToString());
    return *std::move(raw);
  }

  void ExpectLogged(absl::string_view text) {
    absl::StatusOr<std::string> line =
        server_.process->WaitForLine(text, kIoTimeout);
    EXPECT_TRUE(line.ok()) << line.status();
  }

  // An interop EmptyCall on a fresh channel.
  absl::Status EmptyCallOnce() {
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(server_.address);
    if (!channel.ok()) return channel.status();
    sockrpc::interop::InteropTest::Stub stub(*channel);
    sockrpc::ClientContext context;
    context.set_timeout(kIoTimeout);
    return stub.EmptyCall(&context, sockrpc::interop::Nothing()).status();
  }

  TempDir dir_;
  StartedServer server_;
};

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

// ---- Idle connections ----

TEST_F(LimitsTest, IdleConnectionGetsGoAwayAndIsClosedAndLogged) {
  Start("increment_server", {"--idle_timeout", "1s"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod) +
                           IncrementRequestFrame(1, "a"),
                       kIoTimeout)
                  .ok());
  std::string character;
  ASSERT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  const absl::Time last_call = absl::Now();

  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  // About a second after the last byte; not at some other timer's pace
  // (the handshake timeout is 10 s here).
  EXPECT_GE(absl::Now() - last_call, absl::Milliseconds(900));
  EXPECT_LT(absl::Now() - last_call, absl::Seconds(3));
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(goaway->message(), "connection closed by the server: idle for 1s");
  EXPECT_EQ(goaway->last_stream_id(), 1u);
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
  ExpectLogged("dropped: idle for 1s");
}

TEST_F(LimitsTest, ConnectionWithACallInFlightIsNotIdle) {
  Start("increment_server", {"--idle_timeout", "1s"});
  RawConnection raw = OpenWithPreface();
  // A call whose request has not come yet: in flight, the line silent.
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod), kIoTimeout).ok());
  EXPECT_EQ(raw.WaitForClose(absl::Milliseconds(2500)).code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(raw.Send(IncrementRequestFrame(1, "a"), kIoTimeout).ok());
  std::string character;
  EXPECT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
}

TEST_F(LimitsTest, ConnectionIdleAfterALongCallIsStillClosed) {
  Start("increment_server",
        {"--idle_timeout", "1s", "--handshake_timeout", "1s"});
  RawConnection raw = OpenWithPreface();
  // A call in flight for longer than the idle timeout, then silence.
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod), kIoTimeout).ok());
  EXPECT_EQ(raw.WaitForClose(absl::Milliseconds(2500)).code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(raw.Send(IncrementRequestFrame(1, "a"), kIoTimeout).ok());
  std::string character;
  ASSERT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  const absl::Time last_call = absl::Now();
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_LT(absl::Now() - last_call, absl::Seconds(3));
}

TEST_F(LimitsTest, ChannelReconnectsAfterItsIdleConnectionIsClosed) {
  Start("increment_server", {"--idle_timeout", "1s"});
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(server_.address);
  ASSERT_TRUE(channel.ok());
  increment::Increment::Stub stub(*channel);
  increment::IncrementRequest request;
  request.set_character("A");
  sockrpc::ClientContext first;
  first.set_timeout(kIoTimeout);
  ASSERT_TRUE(stub.Increment(&first, request).ok());
  ExpectLogged("dropped: idle for 1s");
  sockrpc::ClientContext second;
  second.set_timeout(kIoTimeout);
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&second, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");
}

// ---- The write buffer of a client that does not read ----

TEST_F(LimitsTest, ClientThatNeverReadsIsCutOffAndLoggedOthersUnaffected) {
  Start("interop_server", {"--max_write_buffer", "1048576"});
  RawConnection hog = OpenRaw();
  std::string bytes = Preface();
  sockrpc::interop::UnaryRequest request;
  request.set_reply_size(256 * 1024);
  for (uint32_t stream = 1; stream <= 64; ++stream) {
    bytes +=
        HeadersFrame(stream, kUnaryCallMethod) + RequestFrame(stream, request);
  }
  ASSERT_TRUE(hog.Send(bytes, kIoTimeout).ok());  // and never read

  ExpectLogged("dropped: it does not read its replies");
  EXPECT_TRUE(EmptyCallOnce().ok());
  // What arrives is at most the buffer, the socket's own buffers and the
  // reply in hand, then the close; the server held no more than that.
  EXPECT_TRUE(hog.WaitForClose(kIoTimeout).ok());
  absl::StatusOr<int64_t> rss = VmRssKilobytes(server_.process->pid());
  ASSERT_TRUE(rss.ok());
  EXPECT_LT(*rss, 100 * 1024);
  EXPECT_TRUE(EmptyCallOnce().ok());
}

TEST_F(LimitsTest,
       LargeRepliesOfCallsArrivingTogetherAreNotHeldBackPastTheLimit) {
  // Eleven calls in one write reach the server in one read, and it runs
  // them as a batch, holding small replies back for one write. Their
  // replies (1.1 MiB in all) must still leave as they are made: held
  // together they would pass the 1 MiB write buffer, and the client, which
  // did nothing wrong, would be cut off.
  Start("interop_server", {"--max_write_buffer", "1048576"});
  RawConnection client = OpenWithPreface();
  std::string bytes;
  sockrpc::interop::UnaryRequest request;
  request.set_reply_size(100 * 1024);
  constexpr uint32_t kCalls = 11;
  for (uint32_t i = 0; i < kCalls; ++i) {
    bytes += HeadersFrame(2 * i + 1, kUnaryCallMethod) +
             RequestFrame(2 * i + 1, request);
  }
  ASSERT_TRUE(client.Send(bytes, kIoTimeout).ok());
  // Calls of one batch may end in any order (a blocked batch is spread
  // over threads), so collect every stream's frames as they come.
  std::map<uint32_t, size_t> reply_bytes;
  std::map<uint32_t, absl::Status> outcomes;
  const absl::Time deadline = absl::Now() + kIoTimeout;
  while (outcomes.size() < kCalls) {
    absl::StatusOr<sockrpc::testing::ReceivedFrame> frame =
        client.ReadFrame(deadline - absl::Now());
    ASSERT_TRUE(frame.ok())
        << frame.status() << " after " << outcomes.size() << " calls ended";
    const uint32_t stream = frame->header.stream_id;
    if (frame->header.type ==
        static_cast<uint8_t>(sockrpc::FrameType::kMessage)) {
      reply_bytes[stream] += frame->payload.size();
    } else if (frame->header.type ==
               static_cast<uint8_t>(sockrpc::FrameType::kStatus)) {
      sockrpc::wire::CallStatus status;
      ASSERT_TRUE(status.ParseFromString(frame->payload));
      outcomes[stream] =
          sockrpc::StatusFromWire(status.code(), status.message());
    }
  }
  for (uint32_t i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(outcomes[2 * i + 1].ok())
        << "call " << i << ": " << outcomes[2 * i + 1];
    EXPECT_GT(reply_bytes[2 * i + 1], 100u * 1024) << "call " << i;
  }
}

// ---- Call deadlines ----

TEST_F(LimitsTest, ServerEndsEachCallAtItsOwnDeadlineWhateverCameBefore) {
  // A raw client never cancels, so each DEADLINE_EXCEEDED here is the
  // server's own. Quick calls with deadlines far off and close by come and
  // go between the slow ones: the server's deadline timer is set ahead of,
  // and past, the slow calls' deadlines, and must still end each slow call
  // at its deadline -- never before, never much after (their deadlines are
  // further apart than kPrompt, so ending one at the other's would show).
  constexpr char kSleepCallMethod[] = "/sockrpc.interop.InteropTest/SleepCall";
  constexpr absl::Duration kPrompt = absl::Seconds(2);
  Start("interop_server", {});
  RawConnection raw = OpenWithPreface();
  sockrpc::interop::SleepRequest sleep;
  sleep.set_sleep_ms(60000);
  const sockrpc::interop::Nothing nothing;
  struct Call {
    uint32_t stream_id;
    bool sleeps;
    absl::Duration timeout;
  };
  const std::vector<Call> calls = {
      {1, false, absl::Seconds(30)},       {3, true, absl::Seconds(3)},
      {5, false, absl::Milliseconds(100)}, {7, true, absl::Milliseconds(400)},
      {9, false, absl::Seconds(30)},       {11, false, absl::Milliseconds(50)},
  };
  // Each call's STATUS: its code and when it arrived.
  struct Ended {
    uint32_t code;
    absl::Time at;
  };
  std::map<uint32_t, Ended> ended;
  auto read_until_ended = [&](uint32_t stream_id) {
    while (ended.count(stream_id) == 0) {
      absl::StatusOr<sockrpc::testing::ReceivedFrame> frame =
          raw.ReadFrame(kIoTimeout);
      if (!frame.ok()) return frame.status();
      if (frame->header.type !=
          static_cast<uint8_t>(sockrpc::FrameType::kStatus)) {
        continue;
      }
      sockrpc::wire::CallStatus status;
      if (!status.ParseFromString(frame->payload)) {
        return absl::DataLossError("STATUS does not parse");
      }
      ended[frame->header.stream_id] = Ended{status.code(), absl::Now()};
    }
    return absl::OkStatus();
  };
  std::map<uint32_t, absl::Time> sent_at;
  for (const Call& call : calls) {
    sockrpc::wire::CallHeader header;
    header.set_method(call.sleeps ? kSleepCallMethod : kEmptyCallMethod);
    header.set_timeout_micros(
        static_cast<uint64_t>(absl::ToInt64Microseconds(call.timeout)));
    std::string frames = HeadersFrame(call.stream_id, header);
    if (call.sleeps) {
      frames += RequestFrame(call.stream_id, sleep);
    } else {
      frames += RequestFrame(call.stream_id, nothing);
    }
    sent_at[call.stream_id] = absl::Now();
    ASSERT_TRUE(raw.Send(frames, kIoTimeout).ok());
    // Each quick call ends before the next call is sent.
    if (!call.sleeps) {
      ASSERT_TRUE(read_until_ended(call.stream_id).ok());
    }
  }
  for (const Call& call : calls) {
    ASSERT_TRUE(read_until_ended(call.stream_id).ok())
        << "stream " << call.stream_id;
    const Ended& end = ended[call.stream_id];
    const absl::Duration took = end.at - sent_at[call.stream_id];
    if (!call.sleeps) {
      EXPECT_EQ(end.code, 0u) << "stream " << call.stream_id;
      continue;
    }
    EXPECT_EQ(end.code,
              static_cast<uint32_t>(absl::StatusCode::kDeadlineExceeded))
        << "stream " << call.stream_id;
    // The server counts from reading the header, after it was sent.
    EXPECT_GE(took, call.timeout) << "stream " << call.stream_id;
    EXPECT_LT(took, call.timeout + kPrompt) << "stream " << call.stream_id;
  }
  // The later call with the earlier deadline ended first.
  EXPECT_LT(ended[7].at, ended[3].at);
}

// ---- Metadata size ----

TEST_F(LimitsTest, RequestMetadataOverTheLimitFailsTheCallOnly) {
  Start("interop_server", {"--max_metadata_size", "1024"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrameWithMetadata(1, kEmptyCallMethod, "blob",
                                                std::string(2000, 'x')) +
                           RequestFrame(1, sockrpc::interop::Nothing()),
                       kIoTimeout)
                  .ok());
  size_t bytes = 0;
  absl::Status status = ReadStreamOutcome(&raw, 1, kIoTimeout, &bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(status.message(),
            "metadata of 2004 bytes exceeds the limit of 1024 bytes");
  // At the limit is fine, on the same connection.
  ASSERT_TRUE(raw.Send(HeadersFrameWithMetadata(2, kEmptyCallMethod, "blob",
                                                std::string(1020, 'x')) +
                           RequestFrame(2, sockrpc::interop::Nothing()),
                       kIoTimeout)
                  .ok());
  EXPECT_TRUE(ReadStreamOutcome(&raw, 2, kIoTimeout, &bytes).ok());
}

TEST_F(LimitsTest, RequestMetadataOverTheLimitIsLogged) {
  Start("interop_server", {"--max_metadata_size", "1024"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrameWithMetadata(1, kEmptyCallMethod, "blob",
                                                std::string(2000, 'x')),
                       kIoTimeout)
                  .ok());
  size_t bytes = 0;
  EXPECT_FALSE(ReadStreamOutcome(&raw, 1, kIoTimeout, &bytes).ok());
  ExpectLogged("exceeds the limit of 1024 bytes");
}

// ---- Frame size ----

TEST_F(LimitsTest, OversizedFramesFailTheirCallAreLoggedConnectionGoesOn) {
  Start("increment_server", {"--max_frame_size", "1024"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod) +
                           IncrementRequestFrame(1, std::string(2000, 'z')),
                       kIoTimeout)
                  .ok());
  std::string character;
  absl::Status status = ReadCallOutcome(&raw, 1, kIoTimeout, &character);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(status.message(),
            "frame of 2003 bytes exceeds the limit of 1024 bytes");
  ExpectLogged("frame of 2003 bytes exceeds the limit of 1024 bytes");

  // An oversized HEADERS fails its own stream the same way.
  ASSERT_TRUE(raw.Send(HeadersFrameWithMetadata(2, kIncrementMethod, "blob",
                                                std::string(1500, 'x')),
                       kIoTimeout)
                  .ok());
  status = ReadCallOutcome(&raw, 2, kIoTimeout, &character);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;

  ASSERT_TRUE(raw.Send(HeadersFrame(3, kIncrementMethod) +
                           IncrementRequestFrame(3, "a"),
                       kIoTimeout)
                  .ok());
  EXPECT_TRUE(ReadCallOutcome(&raw, 3, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
}

// ---- Handshake time ----

TEST_F(LimitsTest, HandshakeTimeoutDropsOnlyPeersWithoutAPreface) {
  Start("increment_server", {"--handshake_timeout", "1s"});
  RawConnection greeted = OpenWithPreface();
  RawConnection silent = OpenRaw();
  EXPECT_TRUE(silent.WaitForClose(absl::Seconds(5)).ok());
  ExpectLogged("dropped: no connection preface within 1s");
  // The one that sent its preface is still there, and served.
  std::string character;
  ASSERT_TRUE(greeted
                  .Send(HeadersFrame(1, kIncrementMethod) +
                            IncrementRequestFrame(1, "a"),
                        kIoTimeout)
                  .ok());
  EXPECT_TRUE(ReadCallOutcome(&greeted, 1, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
}

}  // namespace
