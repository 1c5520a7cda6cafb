// Tests of what the client makes of a server's frames the spec tells it to
// tolerate, seen from the wire: the test plays the server on a real socket
// and writes the frames by hand.
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "tests/testing/increment_calls.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/socket_testing.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/socket.h"
#include "transport/sync.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::AcceptOne;
using ::sockrpc::testing::kCallTimeout;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::RawFrameHeader;
using ::sockrpc::testing::ReceivedFrame;
using ::sockrpc::testing::TempDir;

// A copy of `status` that shares no representation with it: Debian's
// Abseil counts Status references in code ThreadSanitizer cannot see, so a
// status kept here while the event loop frees its own copy looks like a
// race.
absl::Status Unshared(const absl::Status& status) {
  return absl::Status(status.code(), std::string(status.message()));
}

TEST(ClientWireTest, UnknownFrameTypeOverTheSizeLimitOnACallIsSkipped) {
  // PROTOCOL.md section 10 over section 8.2: the client skips a frame of
  // an unknown type whatever its stream id and length, and the call it
  // names goes on.
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/wire.sock"));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ChannelOptions options;
  options.max_frame_size = 1024;
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  UnaryFuture<increment::IncrementReply> call = stub.AsyncIncrement(request);

  RawConnection server = RawConnection::Adopt(AcceptOne(*listener));
  ASSERT_TRUE(server.ReadPreface(kCallTimeout).ok());
  absl::StatusOr<ReceivedFrame> headers = server.ReadFrame(kCallTimeout);
  ASSERT_TRUE(headers.ok()) << headers.status();
  const uint32_t stream_id = headers->header.stream_id;
  increment::IncrementReply reply;
  reply.set_character("B");
  std::string out;
  AppendPreface(&out);
  out += RawFrameHeader(2000, stream_id, 0x20, 0) + std::string(2000, 'x');
  ASSERT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id,
                                 reply, kDefaultMaxFrameSize)
                  .ok());
  AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  ASSERT_TRUE(server.Send(out, kCallTimeout).ok());

  absl::StatusOr<increment::IncrementReply> got = call.Get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->character(), "B");
}

TEST(ClientWireTest, ServerThatNeverSendsItsPrefaceFailsTheCallUnavailable) {
  // The server accepts and reads, but never answers: the call has no
  // deadline, and ends UNAVAILABLE once connect_timeout has passed without
  // the server's preface.
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/silent.sock"));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ChannelOptions options;
  options.connect_timeout = absl::Milliseconds(300);
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  UnaryFuture<increment::IncrementReply> call = stub.AsyncIncrement(request);

  RawConnection server = RawConnection::Adopt(AcceptOne(*listener));
  ASSERT_TRUE(server.ReadPreface(kCallTimeout).ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<increment::IncrementReply> got = call.Get();
  EXPECT_LT(absl::Now() - start, kCallTimeout);
  ASSERT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_NE(got.status().message().find(
                absl::StrCat("server at ", listener->address().ToString(),
                             " sent no preface within 300ms")),
            absl::string_view::npos)
      << got.status();
}

TEST(ClientWireTest, WriterToAServerThatNeverReadsNorSendsItsPrefaceFails) {
  // The server accepts and never reads: requests fill the socket until a
  // write must wait for room. Without a deadline that wait too ends once
  // connect_timeout has passed without the server's preface.
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/deaf.sock"));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ChannelOptions options;
  options.connect_timeout = absl::Milliseconds(300);
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character(std::string(60 * 1024, 'A'));  // within the window
  const absl::Time start = absl::Now();
  // A unix socket takes about 200 KiB before its writer must wait; each
  // call's request goes out as the call starts, on this thread.
  std::vector<UnaryFuture<increment::IncrementReply>> calls;
  for (int i = 0; i < 8; ++i) calls.push_back(stub.AsyncIncrement(request));
  int late_preface = 0;
  for (auto& call : calls) {
    absl::StatusOr<increment::IncrementReply> got = call.Get();
    ASSERT_TRUE(absl::IsUnavailable(got.status())) << got.status();
    if (absl::StrContains(got.status().message(),
                          "sent no preface within 300ms")) {
      ++late_preface;
    }
  }
  EXPECT_LT(absl::Now() - start, kCallTimeout);
  EXPECT_GT(late_preface, 0);
}

TEST(ClientWireTest, CallbackCallToAServerThatNeverSendsItsPrefaceFails) {
  // The same through the callback API, whose reads the event loop does:
  // the call's timer is the preface's until the preface arrives.
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/silent.sock"));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ChannelOptions options;
  options.connect_timeout = absl::Milliseconds(300);
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  increment::IncrementReply reply;
  Mutex mu;
  std::optional<absl::Status> outcome;
  stub.async()->Increment(nullptr, &request, &reply,
                          [&mu, &outcome](absl::Status status) {
                            MutexLock lock(&mu);
                            outcome = Unshared(status);
                          });
  RawConnection server = RawConnection::Adopt(AcceptOne(*listener));
  ASSERT_TRUE(server.ReadPreface(kCallTimeout).ok());
  MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithDeadline(
      [&outcome]()
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return outcome.has_value(); },
      absl::Now() + kCallTimeout));
  ASSERT_TRUE(absl::IsUnavailable(*outcome)) << *outcome;
  EXPECT_NE(outcome->message().find("sent no preface within 300ms"),
            absl::string_view::npos)
      << *outcome;
}

TEST(ClientWireTest, CallbackCallOutlivesTheConnectTimeoutOnceThePrefaceIsIn) {
  // The preface comes at once, the reply after connect_timeout: the
  // preface's timer fires, finds the preface in, and the call goes on.
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/slow.sock"));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  // The timer starts when the call opens, before the accept below: a
  // second leaves ample room for the accept and the preface, even under a
  // sanitizer on a busy machine.
  ChannelOptions options;
  options.connect_timeout = absl::Seconds(1);
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), options);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  increment::IncrementReply reply;
  Mutex mu;
  std::optional<absl::Status> outcome;
  stub.async()->Increment(nullptr, &request, &reply,
                          [&mu, &outcome](absl::Status status) {
                            MutexLock lock(&mu);
                            outcome = Unshared(status);
                          });
  RawConnection server = RawConnection::Adopt(AcceptOne(*listener));
  // Our preface first, as soon as the connection is taken.
  std::string preface;
  AppendPreface(&preface);
  ASSERT_TRUE(server.Send(preface, kCallTimeout).ok());
  ASSERT_TRUE(server.ReadPreface(kCallTimeout).ok());
  absl::StatusOr<ReceivedFrame> headers = server.ReadFrame(kCallTimeout);
  ASSERT_TRUE(headers.ok()) << headers.status();
  const uint32_t stream_id = headers->header.stream_id;
  // Past connect_timeout (counted from before the accept), then the reply.
  // The call has no deadline.
  absl::SleepFor(absl::Milliseconds(1300));
  increment::IncrementReply answer;
  answer.set_character("B");
  std::string out;
  ASSERT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id,
                                 answer, kDefaultMaxFrameSize)
                  .ok());
  AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  ASSERT_TRUE(server.Send(out, kCallTimeout).ok());
  MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithDeadline(
      [&outcome]()
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return outcome.has_value(); },
      absl::Now() + kCallTimeout));
  ASSERT_TRUE(outcome->ok()) << *outcome;
  EXPECT_EQ(reply.character(), "B");
}

}  // namespace
}  // namespace sockrpc

namespace sockrpc {
namespace {

// A listener on a socket in `dir`, for a test that plays the server.
absl::StatusOr<Listener> ListenIn(const TempDir& dir) {
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.path(), "/wire.sock"));
  if (!address.ok()) return address.status();
  return Listener::Bind(*address);
}

// Plays a server that answers the one Increment call a client opens on
// `listener` with its preface, the frames `before_reply` makes for the
// call's stream id, the reply "B" and an OK STATUS. Returns the server's
// end of the connection, which the caller keeps open until the client is
// done with the call (a PONG, say, must not find it closed).
absl::StatusOr<RawConnection> AnswerIncrement(
    Listener& listener,
    const std::function<std::string(uint32_t stream_id)>& before_reply) {
  RawConnection server = RawConnection::Adopt(AcceptOne(listener));
  if (auto preface = server.ReadPreface(kCallTimeout); !preface.ok()) {
    return preface.status();
  }
  absl::StatusOr<ReceivedFrame> headers = server.ReadFrame(kCallTimeout);
  if (!headers.ok()) return headers.status();
  const uint32_t stream_id = headers->header.stream_id;
  increment::IncrementReply reply;
  reply.set_character("B");
  std::string out;
  AppendPreface(&out);
  out += before_reply(stream_id);
  (void)AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id, reply,
                           kDefaultMaxFrameSize);
  AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  if (absl::Status sent = server.Send(out, kCallTimeout); !sent.ok()) {
    return sent;
  }
  return server;
}

// What the client makes of an Increment call that AnswerIncrement()
// answers.
absl::StatusOr<increment::IncrementReply> CallAgainst(
    const std::function<std::string(uint32_t stream_id)>& before_reply) {
  TempDir dir;
  absl::StatusOr<Listener> listener = ListenIn(dir);
  if (!listener.ok()) return listener.status();
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), ChannelOptions());
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  UnaryFuture<increment::IncrementReply> call = stub.AsyncIncrement(request);
  absl::StatusOr<RawConnection> server =
      AnswerIncrement(*listener, before_reply);
  if (!server.ok()) return server.status();
  return call.Get();
}

std::string SettingsFrame(uint32_t max_fds) {
  wire::Settings settings;
  settings.set_max_fds_per_message(max_fds);
  std::string out;
  (void)AppendMessageFrame(&out, FrameType::kSettings, 0, 0, settings,
                           kDefaultMaxFrameSize);
  return out;
}

TEST(ClientWireTest, SettingsAsTheServersFirstFrameIsAccepted) {
  absl::StatusOr<increment::IncrementReply> got =
      CallAgainst([](uint32_t) { return SettingsFrame(8); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->character(), "B");
}

TEST(ClientWireTest, SettingsAfterAnotherFrameFailsTheConnection) {
  absl::StatusOr<increment::IncrementReply> got = CallAgainst([](uint32_t) {
    std::string out;
    AppendRawFrame(&out, FrameType::kPing, 0, 0, std::string(8, '\0'));
    return out + SettingsFrame(8);
  });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << got.status();
  EXPECT_TRUE(absl::StrContains(
      got.status().message(), "SETTINGS frame that is not the server's first"))
      << got.status();
}

TEST(ClientWireTest, FdsFrameToAClientThatAcceptsNoneFailsTheConnection) {
  absl::StatusOr<increment::IncrementReply> got =
      CallAgainst([](uint32_t stream_id) {
        wire::FdsHeader fds;
        fds.set_count(1);
        std::string out;
        (void)AppendMessageFrame(&out, FrameType::kFds, 0, stream_id, fds,
                                 kDefaultMaxFrameSize);
        return out;
      });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << got.status();
  EXPECT_TRUE(
      absl::StrContains(got.status().message(), "accepts no file descriptors"))
      << got.status();
}

TEST(ClientWireTest, SecondReplyToAUnaryFutureFailsItsCallInternal) {
  // A UnaryFuture's reply is parsed as it arrives, as a blocking call's
  // is: a second one is a broken server, not a reply to drop.
  absl::StatusOr<increment::IncrementReply> got =
      CallAgainst([](uint32_t stream_id) {
        increment::IncrementReply first;
        first.set_character("C");
        std::string out;
        (void)AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id, first,
                                 kDefaultMaxFrameSize);
        return out;
      });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(),
                                "more than one reply to a unary call"))
      << got.status();
}

TEST(ClientWireTest, UnaryFutureOfACallThatEndedBeforeItWasMadeHasTheReply) {
  // The reply is read (and queued) before the UnaryFuture exists: the
  // future then takes it from the queue.
  TempDir dir;
  absl::StatusOr<Listener> listener = ListenIn(dir);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), ChannelOptions());
  ASSERT_NE(channel, nullptr);
  increment::IncrementRequest request;
  request.set_character("A");
  std::unique_ptr<ClientCall> call =
      channel->StartCall(nullptr, "/increment.Increment/Increment", &request);
  absl::StatusOr<RawConnection> server =
      AnswerIncrement(*listener, [](uint32_t) { return ""; });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(call->WaitUntilDone(absl::Now() + kCallTimeout));

  UnaryFuture<increment::IncrementReply> future(std::move(call));
  absl::StatusOr<increment::IncrementReply> got = future.Get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->character(), "B");
}

TEST(ClientWireTest, CallbackLoopReadsWhatOneEventLeftInTheSocket) {
  // The loop's registration is edge-triggered: new bytes are reported
  // once, and the loop reads at most 16 times for one event. Bytes left
  // after those reads must be reported again (ClientEventLoop::Arm()'s
  // `report_again`), or nobody reads them when no more arrive. Here ~2 MiB
  // of replies wait in the socket before the loop reads any: the first
  // call's `done` holds the loop's thread until the test has sent them.
  TempDir dir;
  absl::StatusOr<Listener> listener = ListenIn(dir);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::shared_ptr<Channel> channel =
      testing::MakeChannel(listener->address().ToString(), ChannelOptions());
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character("A");
  constexpr int kCalls = 257;  // the first holds the loop
  std::vector<increment::IncrementReply> replies(kCalls);
  Mutex mu;
  bool first_running = false;
  bool release_first = false;
  int ended = 0;
  int ended_ok = 0;
  for (int i = 0; i < kCalls; ++i) {
    stub.async()->Increment(
        nullptr, &request, &replies[i], [&, i](absl::Status status) {
          MutexLock lock(&mu);
          if (i == 0) {
            first_running = true;
            (void)mu.AwaitWithDeadline(
                [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return release_first; },
                absl::Now() + kCallTimeout);
          }
          ++ended;
          if (status.ok()) ++ended_ok;
        });
  }
  RawConnection server = RawConnection::Adopt(AcceptOne(*listener));
  // Room for all the replies in the socket at once (root may exceed
  // wmem_max; the kernel doubles what it is given).
  int room = 4 << 20;
  if (setsockopt(server.fd(), SOL_SOCKET, SO_SNDBUFFORCE, &room,
                 sizeof(room)) != 0) {
    ASSERT_EQ(
        setsockopt(server.fd(), SOL_SOCKET, SO_SNDBUF, &room, sizeof(room)), 0);
  }
  socklen_t room_size = sizeof(room);
  ASSERT_EQ(getsockopt(server.fd(), SOL_SOCKET, SO_SNDBUF, &room, &room_size),
            0);
  std::string preface;
  AppendPreface(&preface);
  ASSERT_TRUE(server.Send(preface, kCallTimeout).ok());
  ASSERT_TRUE(server.ReadPreface(kCallTimeout).ok());
  std::vector<uint32_t> ids;  // in the order the calls started
  while (ids.size() < kCalls) {
    absl::StatusOr<ReceivedFrame> frame = server.ReadFrame(kCallTimeout);
    ASSERT_TRUE(frame.ok()) << frame.status();
    if (frame->header.type == static_cast<uint8_t>(FrameType::kHeaders)) {
      ids.push_back(frame->header.stream_id);
    }
  }
  auto answer = [](uint32_t id, size_t size, std::string* out) {
    increment::IncrementReply reply;
    reply.set_character(std::string(size, 'B'));
    ASSERT_TRUE(AppendMessageFrame(out, FrameType::kMessage, 0, id, reply,
                                   kDefaultMaxFrameSize)
                    .ok());
    AppendRawFrame(out, FrameType::kStatus, 0, id, "");
  };
  std::string first;
  answer(ids[0], 1, &first);
  ASSERT_TRUE(server.Send(first, kCallTimeout).ok());
  {
    MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return first_running; },
        absl::Now() + kCallTimeout));
  }
  // 256 replies of 8 KB, written whole while the loop is held.
  std::string rest;
  for (int i = 1; i < kCalls; ++i) answer(ids[i], 8000, &rest);
  ASSERT_GE(static_cast<size_t>(room) / 2, rest.size())
      << "the socket's send buffer cannot hold the replies at once";
  ASSERT_TRUE(server.Send(rest, kCallTimeout).ok());
  MutexLock lock(&mu);
  release_first = true;
  ASSERT_TRUE(mu.AwaitWithDeadline(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return ended == kCalls; },
      absl::Now() + kCallTimeout))
      << ended << " of " << kCalls << " calls ended";
  EXPECT_EQ(ended_ok, kCalls);
  EXPECT_EQ(replies[kCalls - 1].character().size(), 8000u);
}

}  // namespace
}  // namespace sockrpc
