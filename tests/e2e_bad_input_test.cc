// End-to-end tests of the real increment_server against peers that break
// the protocol: garbage, a wrong version, malformed or huge or truncated
// frames, silence, stream ids that go backwards.
//
// Every test checks three things: the bad peer gets what docs/PROTOCOL.md
// promises (a GOAWAY saying why, or a call error) and then sees its
// connection closed; the server logs a clear reason; and the server goes on
// serving everybody else.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::FrameType;
using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::IncrementRequestFrame;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::RawFrameHeader;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartIncrementServer;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::Transport;
using ::sockrpc::testing::TransportName;
using ::sockrpc::testing::UniqueListenAddress;
using ::sockrpc::testing::VmRssKilobytes;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kIncrementMethod[] = "/increment.Increment/Increment";

// Bounds one exchange with the server, which normally takes microseconds.
constexpr absl::Duration kIoTimeout = absl::Seconds(10);

// The server must not come near this while skipping a huge frame.
constexpr int64_t kRssLimitKilobytes = 200 * 1024;

constexpr uint8_t Type(FrameType type) { return static_cast<uint8_t>(type); }

std::string Preface() {
  std::string out;
  sockrpc::AppendPreface(&out);
  return out;
}

// Sends `bytes`, which call stream 1 with "a", and expects "b" back.
void ExpectIncrementedToB(RawConnection* raw, const std::string& bytes) {
  ASSERT_TRUE(raw->Send(bytes, kIoTimeout).ok());
  ASSERT_TRUE(raw->ReadPreface(kIoTimeout).ok());
  std::string character;
  absl::Status outcome = ReadCallOutcome(raw, 1, kIoTimeout, &character);
  EXPECT_TRUE(outcome.ok()) << outcome;
  EXPECT_EQ(character, "b");
}

class BadInputTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(const std::vector<std::string>& flags) {
    server_.process.reset();
    absl::StatusOr<StartedServer> server =
        StartIncrementServer(UniqueListenAddress(GetParam(), dir_), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A raw connection to the server. If it cannot connect, throws, which
  // gtest reports as the test's failure (and the fixture still cleans up).
  RawConnection Open() {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(server_.address, kIoTimeout);
    if (!raw.ok()) throw std::runtime_error(raw.status().ToString());
    return *std::move(raw);
  }

  // Expects the server to have logged a line containing `reason`.
  void ExpectLogged(absl::string_view reason) {
    absl::StatusOr<std::string> line =
        server_.process->WaitForLine(reason, kIoTimeout);
    EXPECT_TRUE(line.ok()) << line.status();
  }

  // Expects a normal client on a connection of its own to be served.
  void ExpectServesOthers() {
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(server_.address);
    ASSERT_TRUE(channel.ok()) << channel.status();
    increment::Increment::Stub stub(*channel);
    sockrpc::ClientContext context;
    context.set_timeout(kIoTimeout);
    increment::IncrementRequest request;
    request.set_character("A");
    absl::StatusOr<increment::IncrementReply> reply =
        stub.Increment(&context, request);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->character(), "B");
  }

  // Expects the server to hold no more than kRssLimitKilobytes.
  void ExpectRssBounded() {
    absl::StatusOr<int64_t> rss = VmRssKilobytes(server_.process->pid());
    ASSERT_TRUE(rss.ok()) << rss.status();
    EXPECT_LT(*rss, kRssLimitKilobytes);
  }

  // Declared first so that it is removed after the server has gone.
  TempDir dir_;
  StartedServer server_;
};

INSTANTIATE_TEST_SUITE_P(AllTransports, BadInputTest,
                         ::testing::Values(Transport::kUnixPath,
                                           Transport::kUnixAbstract,
                                           Transport::kTcp),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return TransportName(info.param);
                         });

TEST_P(BadInputTest, GarbagePrefaceGetsServerPrefaceThenGoAwayAndClose) {
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send("GET / HTTP/1.1\r\n\r\n", kIoTimeout).ok());

  absl::StatusOr<std::string> preface = raw.ReadPreface(kIoTimeout);
  ASSERT_TRUE(preface.ok()) << preface.status();
  EXPECT_EQ(*preface, Preface());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(goaway->message(), StartsWith("bad connection preface"));
  EXPECT_EQ(goaway->last_stream_id(), 0u);
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("bad connection preface");
  ExpectServesOthers();
}

TEST_P(BadInputTest, WrongVersionGetsGoAwayFailedPreconditionAndClose) {
  RawConnection raw = Open();
  std::string preface = Preface();
  preface.back() = 2;
  ASSERT_TRUE(raw.Send(preface, kIoTimeout).ok());

  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(goaway->message(),
              StartsWith("unsupported sockrpc protocol version 2"));
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("unsupported sockrpc protocol version 2");
  ExpectServesOthers();
}

TEST_P(BadInputTest, NonZeroReservedBytesGetGoAwayInternalAndClose) {
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send(Preface() + RawFrameHeader(0, 1, Type(FrameType::kPing),
                                                  0, /*reserved=*/0x0101),
                       kIoTimeout)
                  .ok());

  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(), static_cast<uint32_t>(absl::StatusCode::kInternal));
  EXPECT_THAT(goaway->message(), StartsWith("protocol error"));
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("protocol error");
  ExpectServesOthers();
}

TEST_P(BadInputTest, MessageOnStreamZeroGetsGoAwayInternalAndClose) {
  RawConnection raw = Open();
  ASSERT_TRUE(
      raw.Send(Preface() + RawFrameHeader(0, 0, Type(FrameType::kMessage), 0),
               kIoTimeout)
          .ok());

  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(), static_cast<uint32_t>(absl::StatusCode::kInternal));
  EXPECT_THAT(goaway->message(), HasSubstr("stream 0"));
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("protocol error");
  ExpectServesOthers();
}

// Expects the server's preface, then a GOAWAY INTERNAL whose message has
// `substring` (a connection error, PROTOCOL.md section 8.1), then the close.
void ExpectProtocolErrorGoAway(RawConnection* raw,
                               absl::string_view substring) {
  ASSERT_TRUE(raw->ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(), static_cast<uint32_t>(absl::StatusCode::kInternal));
  EXPECT_THAT(goaway->message(), HasSubstr(std::string(substring)));
  EXPECT_TRUE(raw->WaitForClose(kIoTimeout).ok());
}

std::string SettingsFrame(uint32_t max_fds, uint32_t stream_id = 0) {
  sockrpc::wire::Settings settings;
  settings.set_max_fds_per_message(max_fds);
  const std::string payload = settings.SerializeAsString();
  return RawFrameHeader(static_cast<uint32_t>(payload.size()), stream_id,
                        Type(FrameType::kSettings), 0) +
         payload;
}

TEST_P(BadInputTest, SettingsAsTheClientsFirstFrameIsAccepted) {
  // PROTOCOL.md section 16.2: a client announces what it accepts in a
  // SETTINGS frame right after its preface.
  RawConnection raw = Open();
  ExpectIncrementedToB(&raw, Preface() + SettingsFrame(4) +
                                 HeadersFrame(1, kIncrementMethod) +
                                 IncrementRequestFrame(1, "a"));
}

TEST_P(BadInputTest, SettingsThatIsNotTheFirstFrameGetsGoAwayInternal) {
  RawConnection raw = Open();
  ASSERT_TRUE(
      raw.Send(Preface() + HeadersFrame(1, kIncrementMethod) + SettingsFrame(4),
               kIoTimeout)
          .ok());
  ExpectProtocolErrorGoAway(&raw,
                            "SETTINGS frame that is not the client's first");
  ExpectServesOthers();
}

TEST_P(BadInputTest, SettingsOnACallStreamIsAMalformedHeader) {
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send(Preface() + SettingsFrame(4, 1), kIoTimeout).ok());
  ExpectProtocolErrorGoAway(&raw, "SETTINGS frame on stream 1");
}

TEST_P(BadInputTest, FdsFrameToAServerThatAcceptsNoneGetsGoAwayInternal) {
  // The server announced no descriptors (it sent no SETTINGS allowing any),
  // so an FDS frame is a protocol error (PROTOCOL.md section 16.3, rule 1).
  sockrpc::wire::FdsHeader fds;
  fds.set_count(1);
  const std::string payload = fds.SerializeAsString();
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send(Preface() + HeadersFrame(1, kIncrementMethod) +
                           RawFrameHeader(static_cast<uint32_t>(payload.size()),
                                          1, Type(FrameType::kFds), 0) +
                           payload + IncrementRequestFrame(1, "a"),
                       kIoTimeout)
                  .ok());
  ExpectProtocolErrorGoAway(&raw, "accepts no file descriptors");
  ExpectServesOthers();
}

TEST_P(BadInputTest, HeadersWithAStreamIdNotAboveThePreviousGetGoAwayInternal) {
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send(Preface() + HeadersFrame(5, kIncrementMethod) +
                           IncrementRequestFrame(5, "A") +
                           HeadersFrame(3, kIncrementMethod) +
                           IncrementRequestFrame(3, "A"),
                       kIoTimeout)
                  .ok());

  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(), static_cast<uint32_t>(absl::StatusCode::kInternal));
  EXPECT_THAT(goaway->message(), HasSubstr("HEADERS for stream 3"));
  EXPECT_EQ(goaway->last_stream_id(), 5u);
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("HEADERS for stream 3");
  ExpectServesOthers();
}

TEST_P(BadInputTest, HugeFrameHeaderThenHangUpIsNeverAllocated) {
  RawConnection raw = Open();
  ASSERT_TRUE(
      raw.Send(Preface() +
                   RawFrameHeader(0xffffffff, 1, Type(FrameType::kMessage), 0) +
                   std::string(100, 'x'),
               kIoTimeout)
          .ok());
  ASSERT_TRUE(raw.HangUp().ok());
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());

  ExpectLogged("frame of 4294967295 bytes exceeds the limit");
  ExpectRssBounded();
  ExpectServesOthers();
}

TEST_P(BadInputTest, FramesAnnouncedLargeButBarelySentCostWhatWasSent) {
  // Each peer announces a frame just under the 4 MiB limit and sends one
  // byte of it, then waits: 13 bytes sent must not make the server hold
  // 4 MiB (32 such peers made it hold 128 MiB).
  constexpr int kPeers = 32;
  constexpr int64_t kGrowthLimitKilobytes = 16 * 1024;
  absl::StatusOr<int64_t> rss_before = VmRssKilobytes(server_.process->pid());
  ASSERT_TRUE(rss_before.ok()) << rss_before.status();
  std::vector<RawConnection> peers;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(Open());
    ASSERT_TRUE(peers.back()
                    .Send(Preface() +
                              RawFrameHeader(sockrpc::kDefaultMaxFrameSize - 16,
                                             1, Type(FrameType::kHeaders), 0) +
                              "x",
                          kIoTimeout)
                    .ok());
    // The server answers the preface from the read that took the frame's
    // first bytes too.
    ASSERT_TRUE(peers.back().ReadPreface(kIoTimeout).ok());
  }
  ExpectServesOthers();
  absl::StatusOr<int64_t> rss_after = VmRssKilobytes(server_.process->pid());
  ASSERT_TRUE(rss_after.ok()) << rss_after.status();
  EXPECT_LT(*rss_after - *rss_before, kGrowthLimitKilobytes);
}

TEST_P(BadInputTest, UnknownFrameTypeOverTheSizeLimitOnAnOpenCallIsSkipped) {
  // PROTOCOL.md section 10 over section 8.2: a frame of an unknown type is
  // skipped whatever its stream id and length; the call it names goes on.
  RawConnection raw = Open();
  ExpectIncrementedToB(&raw, Preface() + HeadersFrame(1, kIncrementMethod) +
                                 RawFrameHeader(4194305, 1, 0x20, 0) +
                                 std::string(4194305, 'x') +
                                 IncrementRequestFrame(1, "a"));
}

TEST_P(BadInputTest, HalfCloseBeforeTheRequestEndsAUnaryCallAtOnce) {
  // PROTOCOL.md section 6.3: a unary call half-closed before its request
  // message ends at once with INTERNAL, named like the END_STREAM case;
  // it does not wait for a request that cannot come.
  RawConnection raw = Open();
  ASSERT_TRUE(raw.Send(Preface() + HeadersFrame(1, kIncrementMethod) +
                           RawFrameHeader(0, 1, Type(FrameType::kHalfClose), 0),
                       kIoTimeout)
                  .ok());
  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  std::string character;
  absl::Status outcome = ReadCallOutcome(&raw, 1, kIoTimeout, &character);
  EXPECT_EQ(outcome.code(), absl::StatusCode::kInternal) << outcome;
  EXPECT_EQ(outcome.message(),
            absl::StrCat("unary call to ", kIncrementMethod,
                         " ended without a request message"));
  ExpectServesOthers();
}

TEST_P(BadInputTest,
       HugeMessageOfACallIsAnsweredResourceExhaustedWhileItsBytesAreSkipped) {
  RawConnection raw = Open();
  ASSERT_TRUE(
      raw.Send(Preface() + HeadersFrame(1, kIncrementMethod) +
                   RawFrameHeader(0xffffffff, 1, Type(FrameType::kMessage),
                                  sockrpc::kFlagEndStream),
               kIoTimeout)
          .ok());
  // The call ends as soon as the server has read the header.
  ASSERT_TRUE(raw.ReadPreface(kIoTimeout).ok());
  std::string character;
  absl::Status outcome = ReadCallOutcome(&raw, 1, kIoTimeout, &character);
  EXPECT_EQ(outcome.code(), absl::StatusCode::kResourceExhausted) << outcome;
  EXPECT_THAT(outcome.message(),
              HasSubstr("frame of 4294967295 bytes exceeds the limit of "
                        "4194304 bytes"));

  // Some of the payload arrives, with the connection held open: the server
  // throws it away as it comes, and others are served meanwhile.
  const std::string chunk(1 << 20, '\0');
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(raw.Send(chunk, kIoTimeout).ok()) << "chunk " << i;
  }
  ExpectServesOthers();
  ExpectRssBounded();
  ExpectLogged("frame of 4294967295 bytes exceeds the limit");
}

TEST_P(BadInputTest, TruncatedFrameThenHangUpDropsOnlyThatConnection) {
  // A well-behaved raw peer, connected before the bad one and used after.
  RawConnection bystander = Open();
  ASSERT_TRUE(bystander
                  .Send(Preface() + HeadersFrame(1, kIncrementMethod) +
                            IncrementRequestFrame(1, "a"),
                        kIoTimeout)
                  .ok());
  ASSERT_TRUE(bystander.ReadPreface(kIoTimeout).ok());
  std::string character;
  ASSERT_TRUE(ReadCallOutcome(&bystander, 1, kIoTimeout, &character).ok());
  ASSERT_EQ(character, "b");

  RawConnection raw = Open();
  ASSERT_TRUE(
      raw.Send(Preface() +
                   RawFrameHeader(100, 1, Type(FrameType::kHeaders), 0) +
                   std::string(10, 'x'),
               kIoTimeout)
          .ok());
  ASSERT_TRUE(raw.HangUp().ok());
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
  ExpectLogged("in the middle of a frame");

  ASSERT_TRUE(bystander
                  .Send(HeadersFrame(2, kIncrementMethod) +
                            IncrementRequestFrame(2, "c"),
                        kIoTimeout)
                  .ok());
  absl::Status outcome = ReadCallOutcome(&bystander, 2, kIoTimeout, &character);
  EXPECT_TRUE(outcome.ok()) << outcome;
  EXPECT_EQ(character, "d");
  ExpectServesOthers();
}

TEST_P(BadInputTest, SilentPeerDoesNotHoldUpOthersAndIsDroppedAfterTimeout) {
  StartServer({"--handshake_timeout", "1s"});
  RawConnection silent = Open();
  RawConnection stalled = Open();  // half a preface, then nothing
  ASSERT_TRUE(stalled.Send(Preface().substr(0, 4), kIoTimeout).ok());
  const absl::Time connected = absl::Now();

  ExpectServesOthers();  // while the silent peers are connected

  // Dropped after about a second (the server checks once a second), with
  // a bound far from that.
  EXPECT_TRUE(silent.WaitForClose(absl::Seconds(5)).ok());
  EXPECT_TRUE(stalled.WaitForClose(absl::Seconds(5)).ok());
  EXPECT_GE(absl::Now() - connected, absl::Milliseconds(900));
  ExpectLogged("no connection preface within 1s");
  ExpectServesOthers();
}

TEST_P(BadInputTest, PeerWithoutAPrefaceGetsThePrefaceThenGoAwayAtTheTimeout) {
  // PROTOCOL.md section 3: nothing comes before the server's preface, not
  // even the GOAWAY that ends a handshake never completed; with no
  // preface at all and with a partial one.
  StartServer({"--handshake_timeout", "1s"});
  RawConnection silent = Open();
  RawConnection partial = Open();
  ASSERT_TRUE(partial.Send("SOC", kIoTimeout).ok());
  for (RawConnection* raw : {&silent, &partial}) {
    absl::StatusOr<std::string> preface = raw->ReadPreface(absl::Seconds(5));
    ASSERT_TRUE(preface.ok()) << preface.status();
    EXPECT_EQ(*preface, Preface());
    absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(raw, kIoTimeout);
    ASSERT_TRUE(goaway.ok()) << goaway.status();
    EXPECT_EQ(goaway->code(),
              static_cast<uint32_t>(absl::StatusCode::kUnavailable));
    EXPECT_EQ(goaway->message(),
              "connection closed by the server: no connection preface "
              "within 1s");
    EXPECT_EQ(goaway->last_stream_id(), 0u);
    EXPECT_TRUE(raw->WaitForClose(kIoTimeout).ok());
  }
}

TEST_P(BadInputTest, PeersHangingUpMidCallDoNotDisturbOthers) {
  // Peers that send a call and vanish without reading the reply, while a
  // normal client makes its calls alongside.
  constexpr int kCalls = 300;
  std::atomic<int> served{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::thread caller([&] {
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(server_.address);
    if (!channel.ok()) {
      ++failed;
      return;
    }
    increment::Increment::Stub stub(*channel);
    for (int i = 0; i < kCalls; ++i) {
      sockrpc::ClientContext context;
      context.set_timeout(kIoTimeout);
      increment::IncrementRequest request;
      request.set_character("x");
      absl::StatusOr<increment::IncrementReply> reply =
          stub.Increment(&context, request);
      if (reply.ok() && reply->character() == "y") {
        ++served;
      } else if (failed++ == 0) {
        first_failure =
            reply.ok() ? reply->character() : reply.status().ToString();
      }
    }
  });
  for (int i = 0; i < 200; ++i) {
    RawConnection raw = Open();
    std::string bytes = Preface();
    for (uint32_t stream = 1; stream <= 5; ++stream) {
      bytes += HeadersFrame(stream, kIncrementMethod) +
               IncrementRequestFrame(stream, "a");
    }
    ASSERT_TRUE(raw.Send(bytes, kIoTimeout).ok());
  }  // each closes here, its replies unread
  caller.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_EQ(served.load(), kCalls);
  ExpectServesOthers();
}

}  // namespace
