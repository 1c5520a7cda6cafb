// Keepalive and PING enforcement (ServerOptions::keepalive_time,
// min_time_between_pings; ChannelOptions::keepalive_time), on real
// sockets: the server side through the real increment_server with a raw
// client that answers PINGs, or does not; the client side against a test
// that plays the server frame by frame, and against a real server that
// stops (SIGSTOP) while a call waits.
#include <signal.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/hardening/limits_testing.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/socket_testing.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/frame.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::FrameType;
using ::sockrpc::testing::HeadersFrame;
using ::sockrpc::testing::IncrementRequestFrame;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::LimitsTest;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::ReceivedFrame;

constexpr uint8_t kPing = static_cast<uint8_t>(FrameType::kPing);

std::string PingFrame(absl::string_view payload, uint8_t flags = 0) {
  std::string out;
  sockrpc::AppendRawFrame(&out, FrameType::kPing, flags, 0, payload);
  return out;
}

// Reads frames until a PING (not an answer) arrives; its payload.
absl::StatusOr<std::string> ReadPing(RawConnection* raw) {
  for (;;) {
    absl::StatusOr<ReceivedFrame> frame = raw->ReadFrame(kIoTimeout);
    if (!frame.ok()) return frame.status();
    if (frame->header.type == kPing &&
        (frame->header.flags & sockrpc::kFlagAck) == 0) {
      if (frame->header.stream_id != 0) {
        return absl::InternalError("PING on a stream other than 0");
      }
      return frame->payload;
    }
  }
}

// Reads the next frame, which must answer a PING carrying `payload`.
absl::Status ReadPingAnswer(RawConnection* raw, absl::string_view payload) {
  absl::StatusOr<ReceivedFrame> frame = raw->ReadFrame(kIoTimeout);
  if (!frame.ok()) return frame.status();
  if (frame->header.type != kPing ||
      (frame->header.flags & sockrpc::kFlagAck) == 0 ||
      frame->payload != payload) {
    return absl::InternalError(absl::StrCat(
        "expected a PING answer, got frame type ", frame->header.type));
  }
  return absl::OkStatus();
}

// ---- The server's keepalive ----

TEST_F(LimitsTest, ServerClosesAConnectionWhosePingGoesUnanswered) {
  Start("increment_server",
        {"--keepalive_time", "200ms", "--keepalive_timeout", "500ms"});
  RawConnection raw = OpenWithPreface();
  // A call in flight, waiting for its request: the connection is busy, not
  // idle, and quiet.
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod), kIoTimeout).ok());
  absl::StatusOr<std::string> ping = ReadPing(&raw);
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->size(), 8u);
  // Not answered: the client is taken for gone.
  absl::StatusOr<sockrpc::wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(),
            static_cast<uint32_t>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(goaway->message(),
            "connection closed by the server: no answer to a keepalive PING "
            "within 500ms");
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
  ExpectLogged("dropped: no answer to a keepalive PING within 500ms");
}

TEST_F(LimitsTest, AnsweredPingsKeepAQuietConnectionOpen) {
  Start("increment_server",
        {"--keepalive_time", "200ms", "--keepalive_timeout", "300ms"});
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod), kIoTimeout).ok());
  // Four PINGs answered: together longer than an unanswered one may wait.
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::string> ping = ReadPing(&raw);
    ASSERT_TRUE(ping.ok()) << "PING " << i << ": " << ping.status();
    ASSERT_TRUE(raw.Send(PingFrame(*ping, sockrpc::kFlagAck), kIoTimeout).ok());
  }
  ASSERT_TRUE(raw.Send(IncrementRequestFrame(1, "a"), kIoTimeout).ok());
  std::string character;
  ASSERT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
}

TEST_F(LimitsTest, AnswersToPingsDoNotKeepAnIdleConnectionOpen) {
  Start("increment_server",
        {"--idle_timeout", "1s", "--keepalive_time", "200ms"});
  RawConnection raw = OpenWithPreface();
  // Every PING answered at once; the connection, with no call, still goes
  // idle.
  for (;;) {
    absl::StatusOr<ReceivedFrame> frame = raw.ReadFrame(kIoTimeout);
    ASSERT_TRUE(frame.ok()) << frame.status();
    if (frame->header.type == static_cast<uint8_t>(FrameType::kGoAway)) {
      sockrpc::wire::GoAway goaway;
      ASSERT_TRUE(goaway.ParseFromString(frame->payload));
      EXPECT_EQ(goaway.message(),
                "connection closed by the server: idle for 1s");
      break;
    }
    if (frame->header.type == kPing) {
      // The GOAWAY may already be on its way, the socket closed: then the
      // answer fails, and the GOAWAY is read next all the same.
      (void)raw.Send(PingFrame(frame->payload, sockrpc::kFlagAck), kIoTimeout);
    }
  }
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
}

// ---- PING enforcement ----

TEST_F(LimitsTest, ClientThatPingsTooOftenGetsGoAwayAndIsClosed) {
  Start("increment_server", {});  // the defaults: 5 minutes, 2 strikes
  RawConnection raw = OpenWithPreface();
  ASSERT_TRUE(raw.Send(PingFrame("ping0001") + PingFrame("ping0002") +
                           PingFrame("ping0003") + PingFrame("ping0004"),
                       kIoTimeout)
                  .ok());
  // The first and two strikes are answered; the third strike is not.
  EXPECT_TRUE(ReadPingAnswer(&raw, "ping0001").ok());
  EXPECT_TRUE(ReadPingAnswer(&raw, "ping0002").ok());
  EXPECT_TRUE(ReadPingAnswer(&raw, "ping0003").ok());
  absl::StatusOr<ReceivedFrame> frame = raw.ReadFrame(kIoTimeout);
  ASSERT_TRUE(frame.ok()) << frame.status();
  ASSERT_EQ(frame->header.type, static_cast<uint8_t>(FrameType::kGoAway));
  sockrpc::wire::GoAway goaway;
  ASSERT_TRUE(goaway.ParseFromString(frame->payload));
  EXPECT_EQ(goaway.code(),
            static_cast<uint32_t>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(goaway.message(),
            "too many pings: more than 3 PINGs less than 5m apart with no "
            "call between them");
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
  ExpectLogged("dropped: too many pings");
}

TEST_F(LimitsTest, PingsBetweenCallsAreNoStrikes) {
  Start("increment_server", {});
  RawConnection raw = OpenWithPreface();
  for (uint32_t id = 1; id <= 9; id += 2) {
    const std::string payload = absl::StrCat("ping000", id);
    ASSERT_TRUE(raw.Send(PingFrame(payload) +
                             HeadersFrame(id, kIncrementMethod) +
                             IncrementRequestFrame(id, "a"),
                         kIoTimeout)
                    .ok());
    ASSERT_TRUE(ReadPingAnswer(&raw, payload).ok()) << "call " << id;
    std::string character;
    ASSERT_TRUE(ReadCallOutcome(&raw, id, kIoTimeout, &character).ok())
        << "call " << id;
    EXPECT_EQ(character, "b");
  }
}

TEST_F(LimitsTest, PingEnforcementOffTakesPingsAtAnyRate) {
  Start("increment_server", {"--min_time_between_pings", "0"});
  RawConnection raw = OpenWithPreface();
  std::string pings;
  for (int i = 0; i < 10; ++i) pings += PingFrame(absl::StrCat("ping000", i));
  ASSERT_TRUE(raw.Send(pings, kIoTimeout).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ReadPingAnswer(&raw, absl::StrCat("ping000", i)).ok()) << i;
  }
  ASSERT_TRUE(raw.Send(HeadersFrame(1, kIncrementMethod) +
                           IncrementRequestFrame(1, "a"),
                       kIoTimeout)
                  .ok());
  std::string character;
  ASSERT_TRUE(ReadCallOutcome(&raw, 1, kIoTimeout, &character).ok());
  EXPECT_EQ(character, "b");
}

// ---- The client's keepalive ----

// The test plays the server: a listener the channel connects to.
class ClientKeepaliveTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    absl::StatusOr<sockrpc::Address> address = sockrpc::ParseAddress(
        absl::StrCat("unix:", dir_.path(), "/keepalive.sock"));
    ASSERT_TRUE(address.ok()) << address.status();
    absl::StatusOr<sockrpc::Listener> listener =
        sockrpc::Listener::Bind(*address);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_.emplace(*std::move(listener));
    sockrpc::ChannelOptions options;
    options.keepalive_time = absl::Milliseconds(100);
    options.keepalive_timeout = absl::Milliseconds(300);
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(listener_->address().ToString(), options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<increment::Increment::Stub>(*channel);
  }

  // Starts an Increment call with a deadline far beyond the keepalive's
  // times: blocking (a thread waits in Get()) or, with the parameter, the
  // callback API (the channel's event loop waits).
  std::future<absl::StatusOr<std::string>> StartCall() {
    request_.set_character("A");
    context_.set_timeout(kIoTimeout);
    if (!GetParam()) {
      return std::async(std::launch::async, [this] {
        absl::StatusOr<increment::IncrementReply> reply =
            stub_->Increment(&context_, request_);
        if (!reply.ok()) return absl::StatusOr<std::string>(reply.status());
        return absl::StatusOr<std::string>(reply->character());
      });
    }
    auto done = std::make_shared<std::promise<absl::StatusOr<std::string>>>();
    stub_->async()->Increment(
        &context_, &request_, &reply_, [this, done](absl::Status status) {
          if (status.ok()) {
            done->set_value(reply_.character());
          } else {
            done->set_value(
                absl::Status(status.code(), std::string(status.message())));
          }
        });
    return done->get_future();
  }

  // Accepts the call's connection and reads its preface and frames up to
  // the request; sends the server's preface.
  RawConnection AcceptCall(uint32_t* stream_id) {
    RawConnection server =
        RawConnection::Adopt(sockrpc::testing::AcceptOne(*listener_));
    EXPECT_TRUE(server.ReadPreface(kIoTimeout).ok());
    for (;;) {
      absl::StatusOr<ReceivedFrame> frame = server.ReadFrame(kIoTimeout);
      if (!frame.ok()) {
        ADD_FAILURE() << frame.status();
        break;
      }
      if (frame->header.type == static_cast<uint8_t>(FrameType::kMessage)) {
        *stream_id = frame->header.stream_id;
        break;
      }
    }
    std::string preface;
    sockrpc::AppendPreface(&preface);
    EXPECT_TRUE(server.Send(preface, kIoTimeout).ok());
    return server;
  }

  sockrpc::testing::TempDir dir_;
  std::optional<sockrpc::Listener> listener_;
  std::unique_ptr<increment::Increment::Stub> stub_;
  sockrpc::ClientContext context_;
  increment::IncrementRequest request_;
  increment::IncrementReply reply_;
};

TEST_P(ClientKeepaliveTest, UnansweredPingFailsTheWaitingCallUnavailable) {
  std::future<absl::StatusOr<std::string>> call = StartCall();
  uint32_t stream_id = 0;
  RawConnection server = AcceptCall(&stream_id);
  // The first PING answered keeps the call waiting; the second is not.
  absl::StatusOr<std::string> ping = ReadPing(&server);
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->size(), 8u);
  ASSERT_TRUE(
      server.Send(PingFrame(*ping, sockrpc::kFlagAck), kIoTimeout).ok());
  ping = ReadPing(&server);
  ASSERT_TRUE(ping.ok()) << ping.status();
  absl::StatusOr<std::string> got = call.get();
  ASSERT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_TRUE(
      absl::StrContains(got.status().message(),
                        "lost: no answer to a keepalive PING within 300ms"))
      << got.status();
  // The client closed the connection.
  EXPECT_TRUE(server.WaitForClose(kIoTimeout).ok());
}

TEST_P(ClientKeepaliveTest, AnsweredPingsKeepALongCallAlive) {
  std::future<absl::StatusOr<std::string>> call = StartCall();
  uint32_t stream_id = 0;
  RawConnection server = AcceptCall(&stream_id);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<std::string> ping = ReadPing(&server);
    ASSERT_TRUE(ping.ok()) << "PING " << i << ": " << ping.status();
    ASSERT_TRUE(
        server.Send(PingFrame(*ping, sockrpc::kFlagAck), kIoTimeout).ok());
  }
  increment::IncrementReply reply;
  reply.set_character("B");
  std::string out;
  ASSERT_TRUE(sockrpc::AppendMessageFrame(&out, FrameType::kMessage, 0,
                                          stream_id, reply,
                                          sockrpc::kDefaultMaxFrameSize)
                  .ok());
  sockrpc::AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  ASSERT_TRUE(server.Send(out, kIoTimeout).ok());
  absl::StatusOr<std::string> got = call.get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "B");
}

INSTANTIATE_TEST_SUITE_P(BlockingAndCallback, ClientKeepaliveTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Callback" : "Blocking";
                         });

TEST_F(LimitsTest, ClientKeepaliveFindsAStoppedServerAndReconnectsLater) {
  Start("increment_server", {"--min_time_between_pings", "0"});
  sockrpc::ChannelOptions options;
  options.keepalive_time = absl::Milliseconds(100);
  options.keepalive_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(server_.address, options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  increment::Increment::Stub stub(*channel);
  increment::IncrementRequest request;
  request.set_character("A");
  sockrpc::ClientContext first;
  first.set_timeout(kIoTimeout);
  ASSERT_TRUE(stub.Increment(&first, request).ok());

  // The server stops (as a host that hangs would): the kernel still takes
  // the call's bytes, but nothing answers.
  absl::Cleanup resume = [this] { (void)server_.process->Signal(SIGCONT); };
  ASSERT_TRUE(server_.process->Stop(kIoTimeout).ok());
  sockrpc::ClientContext second;
  second.set_timeout(kIoTimeout);
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&second, request);
  ASSERT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  EXPECT_TRUE(absl::StrContains(reply.status().message(),
                                "no answer to a keepalive PING within 300ms"))
      << reply.status();

  std::move(resume).Invoke();
  sockrpc::ClientContext third;
  third.set_timeout(kIoTimeout);
  reply = stub.Increment(&third, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");
}

}  // namespace
