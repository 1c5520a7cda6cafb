// The server's time and size limits, each breached on purpose through the
// real server binaries: idle time, the write buffer of a client that does
// not read, call deadlines, metadata size, frame size and the handshake
// time. Each test checks what docs/SECURITY.md promises: only the
// offending connection (or call) suffers, the server logs why, and the
// peer learns why (GOAWAY, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED) where
// the protocol allows.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/hardening/limits_testing.h"
#include "tests/testing/raw_connection.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::HeadersFrameWithMetadata;
using ::sockrpc::testing::IncrementRequestFrame;
using ::sockrpc::testing::kEmptyCallMethod;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::kSleepCallMethod;
using ::sockrpc::testing::kUnaryCallMethod;
using ::sockrpc::testing::LimitsTest;
using ::sockrpc::testing::Preface;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::ReadStreamOutcome;
using ::sockrpc::testing::RequestFrame;
using ::sockrpc::testing::VmRssKilobytes;

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

// What `calls` calls sent together on `client` got, by stream id: the bytes
// of their MESSAGE frames and their STATUS. Calls of one batch may end in
// any order (a blocked batch is spread over threads), so every stream's
// frames are collected as they come, until each call has its STATUS.
struct CallOutcomes {
  std::map<uint32_t, size_t> reply_bytes;
  std::map<uint32_t, absl::Status> statuses;
};
absl::StatusOr<CallOutcomes> ReadCallOutcomes(RawConnection& client,
                                              size_t calls) {
  CallOutcomes ended;
  const absl::Time deadline = absl::Now() + kIoTimeout;
  while (ended.statuses.size() < calls) {
    absl::StatusOr<sockrpc::testing::ReceivedFrame> frame =
        client.ReadFrame(deadline - absl::Now());
    if (!frame.ok()) {
      return absl::Status(frame.status().code(),
                          absl::StrCat(frame.status().message(), " after ",
                                       ended.statuses.size(), " calls ended"));
    }
    const uint32_t stream = frame->header.stream_id;
    if (frame->header.type ==
        static_cast<uint8_t>(sockrpc::FrameType::kMessage)) {
      ended.reply_bytes[stream] += frame->payload.size();
    } else if (frame->header.type ==
               static_cast<uint8_t>(sockrpc::FrameType::kStatus)) {
      sockrpc::wire::CallStatus status;
      if (!status.ParseFromString(frame->payload)) {
        return absl::DataLossError("a STATUS payload does not parse");
      }
      ended.statuses[stream] =
          sockrpc::StatusFromWire(status.code(), status.message());
    }
  }
  return ended;
}

// Sends `calls` UnaryCall calls asking for `reply_size` bytes each in one
// write, and expects each to end OK with its reply.
void ExpectEveryUnaryCallInOneWriteSucceeds(RawConnection& client,
                                            uint32_t calls,
                                            uint32_t reply_size) {
  std::string bytes;
  sockrpc::interop::UnaryRequest request;
  request.set_reply_size(reply_size);
  for (uint32_t i = 0; i < calls; ++i) {
    bytes += HeadersFrame(2 * i + 1, kUnaryCallMethod) +
             RequestFrame(2 * i + 1, request);
  }
  ASSERT_TRUE(client.Send(bytes, kIoTimeout).ok());
  absl::StatusOr<CallOutcomes> ended = ReadCallOutcomes(client, calls);
  ASSERT_TRUE(ended.ok()) << ended.status();
  for (uint32_t i = 0; i < calls; ++i) {
    EXPECT_TRUE(ended->statuses[2 * i + 1].ok())
        << "call " << i << ": " << ended->statuses[2 * i + 1];
    EXPECT_GT(ended->reply_bytes[2 * i + 1], reply_size) << "call " << i;
  }
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
  ExpectEveryUnaryCallInOneWriteSucceeds(client, /*calls=*/11,
                                         /*reply_size=*/100 * 1024);
}

TEST_F(LimitsTest, ManyCallsArrivingTogetherAllGetTheirReplies) {
  // Forty callback calls in one write: the server runs the calls one read
  // brought with one output batch (ServerRuntime::RunCalls()), which lets
  // the first reply out at once and holds the rest for one write when the
  // batch ends. Every call must get its reply and STATUS.
  Start("interop_server", {});
  RawConnection client = OpenWithPreface();
  ExpectEveryUnaryCallInOneWriteSucceeds(client, /*calls=*/40,
                                         /*reply_size=*/100);
}

// Small unary replies are put together on the server's stack and written
// from there; what the socket does not take must be copied out to wait. The
// client sends its calls one write each (so that many reach the server one
// read each, unbatched) and reads nothing until all are sent: the server
// makes far more reply bytes than the socket holds, so the replies fill it,
// one is cut by a short write (over TCP, which takes what fits), and the
// rest wait. Then every reply must arrive whole, once, before its OK.
class SmallRepliesTest : public LimitsTest,
                         public ::testing::WithParamInterface<bool> {};

TEST_P(SmallRepliesTest, RepliesTheSocketCannotTakeAtOnceWaitAndArriveWhole) {
  // Blocking handlers: a callback method's replies leave in output batches
  // (held, as when corked), never straight from the stack.
  const std::vector<std::string> flags = {
      "--blocking", "--max_write_buffer", "33554432",  // (all the replies)
      "--max_calls_per_connection", "20000"};
  if (GetParam()) {
    StartOn("127.0.0.1:0", "interop_server", flags);
  } else {
    Start("interop_server", flags);
  }
  RawConnection client = OpenWithPreface();
  constexpr uint32_t kCalls = 20000;
  constexpr uint32_t kReplySize = 300;
  sockrpc::interop::UnaryRequest request;
  request.set_reply_size(kReplySize);
  for (uint32_t i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(client
                    .Send(HeadersFrame(2 * i + 1, kUnaryCallMethod) +
                              RequestFrame(2 * i + 1, request),
                          kIoTimeout)
                    .ok());
  }
  std::vector<uint8_t> seen(kCalls, 0);  // 1: reply read; 2: status read
  uint32_t ended = 0;
  const absl::Time deadline = absl::Now() + kIoTimeout;
  while (ended < kCalls) {
    absl::StatusOr<sockrpc::testing::ReceivedFrame> frame =
        client.ReadFrame(deadline - absl::Now());
    ASSERT_TRUE(frame.ok())
        << frame.status() << " after " << ended << " calls ended";
    const uint32_t stream = frame->header.stream_id;
    ASSERT_EQ(stream % 2, 1u);
    ASSERT_LT(stream / 2, kCalls);
    uint8_t& state = seen[stream / 2];
    if (frame->header.type ==
        static_cast<uint8_t>(sockrpc::FrameType::kMessage)) {
      ASSERT_EQ(state, 0) << "stream " << stream;
      sockrpc::interop::UnaryReply reply;
      ASSERT_TRUE(reply.ParseFromString(frame->payload)) << "stream " << stream;
      ASSERT_EQ(reply.body().size(), kReplySize) << "stream " << stream;
      state = 1;
    } else {
      ASSERT_EQ(frame->header.type,
                static_cast<uint8_t>(sockrpc::FrameType::kStatus));
      sockrpc::wire::CallStatus status;
      ASSERT_TRUE(status.ParseFromString(frame->payload));
      ASSERT_EQ(status.code(), 0u)
          << "stream " << stream << ": " << status.message();
      ASSERT_EQ(state, 1) << "stream " << stream;
      state = 2;
      ++ended;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, SmallRepliesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tcp" : "Unix";
                         });

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
