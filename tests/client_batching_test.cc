// Tests of ChannelOptions::batch_call_starts, seen from the wire: the test
// plays the server on a real socket, reads what the client writes and
// when, and answers the calls by hand.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "tests/testing/increment_calls.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/socket_testing.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/frame.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::AcceptOne;
using ::sockrpc::testing::kCallTimeout;
using ::sockrpc::testing::kIncrementMethod;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReceivedFrame;
using ::sockrpc::testing::TempDir;
using Future = UnaryFuture<increment::IncrementReply>;

// The server's side of the call on `stream_id`: the reply to `character`
// and an OK status.
std::string ReplyFrames(uint32_t stream_id, const std::string& character) {
  increment::IncrementReply reply;
  reply.set_character(character);
  std::string out;
  EXPECT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id,
                                 reply, kDefaultMaxFrameSize)
                  .ok());
  AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  return out;
}

// The parameter: over TCP (else a unix socket).
class BatchCallStartsTest : public ::testing::TestWithParam<bool> {
 protected:
  // Listens; MakeStub() makes a channel to the listener, and Accept() takes
  // its connection once the first call is under way.
  void SetUp() override {
    absl::StatusOr<Address> address = ParseAddress(
        GetParam() ? std::string("ipv4:127.0.0.1:0")
                   : absl::StrCat("unix:", dir_.path(), "/batch.sock"));
    ASSERT_TRUE(address.ok()) << address.status();
    absl::StatusOr<Listener> listener = Listener::Bind(*address);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::make_unique<Listener>(*std::move(listener));
  }

  // How many unanswered calls make the client hold the next one (with none
  // held yet; it holds at most half as many as are unanswered).
  static int Threshold() { return GetParam() ? 2 : 4; }

  void MakeStub(bool batch) {
    ChannelOptions options;
    options.batch_call_starts = batch;
    channel_ = testing::MakeChannel(listener_->address().ToString(), options);
    ASSERT_NE(channel_, nullptr);
    stub_ = std::make_unique<increment::Increment::Stub>(channel_);
  }

  // Starts an asynchronous Increment call of "A".
  Future Start() {
    increment::IncrementRequest request;
    request.set_character("A");
    return stub_->AsyncIncrement(request);
  }

  // Accepts the channel's connection and exchanges prefaces.
  void Accept() {
    peer_ = std::make_unique<RawConnection>(
        RawConnection::Adopt(AcceptOne(*listener_)));
    ASSERT_TRUE(peer_->ReadPreface(kCallTimeout).ok());
    std::string preface;
    AppendPreface(&preface);
    ASSERT_TRUE(peer_->Send(preface, kCallTimeout).ok());
  }

  // Reads the opening frames of the next call (HEADERS naming Increment,
  // then its request, half-closing) and returns its stream id, or 0.
  uint32_t ReadCallStart() {
    absl::StatusOr<ReceivedFrame> headers = peer_->ReadFrame(kCallTimeout);
    EXPECT_TRUE(headers.ok()) << headers.status();
    if (!headers.ok()) return 0;
    EXPECT_EQ(headers->header.type, static_cast<uint8_t>(FrameType::kHeaders));
    wire::CallHeader call;
    EXPECT_TRUE(call.ParseFromString(headers->payload));
    EXPECT_EQ(call.method(), kIncrementMethod);
    absl::StatusOr<ReceivedFrame> request = peer_->ReadFrame(kCallTimeout);
    EXPECT_TRUE(request.ok()) << request.status();
    if (!request.ok()) return 0;
    EXPECT_EQ(request->header.stream_id, headers->header.stream_id);
    EXPECT_EQ(request->header.flags & kFlagEndStream, kFlagEndStream);
    return headers->header.stream_id;
  }

  // Reads `count` call starts and expects their ids to follow `*next_id`.
  void ExpectCallStarts(int count, uint32_t* next_id) {
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(ReadCallStart(), (*next_id)++);
    }
  }

  void Answer(uint32_t first_id, int count) {
    std::string replies;
    for (int i = 0; i < count; ++i) replies += ReplyFrames(first_id + i, "B");
    ASSERT_TRUE(peer_->Send(replies, kCallTimeout).ok());
  }

  // Makes the stub (batching `batch`), starts `count` calls and reads all
  // of them on the wire; returns their futures and sets *next_id past them.
  std::vector<Future> StartAndReadCalls(bool batch, int count,
                                        uint32_t* next_id) {
    std::vector<Future> futures;
    MakeStub(batch);
    futures.push_back(Start());  // connects
    Accept();
    while (static_cast<int>(futures.size()) < count) futures.push_back(Start());
    *next_id = 1;
    ExpectCallStarts(count, next_id);
    EXPECT_TRUE(peer_->NothingMoreArrived());
    return futures;
  }

  // A blocking Increment call of "A" on another thread (join it): written
  // at once (blocking calls are never held), then its thread waits for the
  // reply, reading for everyone.
  std::thread StartBlockingCall() {
    return std::thread([this] {
      increment::Increment::Stub stub(channel_);
      EXPECT_EQ(testing::Increment(stub, "A").value_or("<error>"), "B");
    });
  }

  static void ExpectReplies(std::vector<Future>& futures) {
    for (Future& future : futures) {
      absl::StatusOr<increment::IncrementReply> reply = future.Get();
      ASSERT_TRUE(reply.ok()) << reply.status();
      EXPECT_EQ(reply->character(), "B");
    }
  }

  TempDir dir_;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<increment::Increment::Stub> stub_;
  std::unique_ptr<RawConnection> peer_;
};

// The first calls find fewer than Threshold() unanswered before them and
// go out at once; the next one is held, and the caller's first wait
// sends them, in order, before it waits for its reply.
TEST_P(BatchCallStartsTest, CallsBeyondTheThresholdWaitForTheCallersWait) {
  const int sent = Threshold();
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, sent, &next_id);

  futures.push_back(Start());
  // Written synchronously if at all: nothing arrived means held.
  EXPECT_TRUE(peer_->NothingMoreArrived());

  // The replies to the first calls are there before the caller waits, so
  // its Get() of the first finds them; it still must send the held calls,
  // since it waits (reads) before it knows.
  Answer(1, sent);
  std::vector<Future> first(std::make_move_iterator(futures.begin()),
                            std::make_move_iterator(futures.begin() + sent));
  ExpectReplies(first);
  ExpectCallStarts(1, &next_id);
  Answer(sent + 1, 1);
  std::vector<Future> rest(std::make_move_iterator(futures.begin() + sent),
                           std::make_move_iterator(futures.end()));
  ExpectReplies(rest);
}

// Calls are held only while the server has at least twice as many to
// answer: then the next call goes out, together with the held ones.
TEST_P(BatchCallStartsTest, HoldsAtMostHalfAsManyAsAreUnanswered) {
  // Unix: 4 sent, the 5th and 6th held (4 unanswered each time), the 7th
  // written. TCP: 2 sent, the 3rd held, the 4th written.
  const int held = GetParam() ? 1 : 2;
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, Threshold(), &next_id);
  for (int i = 0; i < held; ++i) {
    futures.push_back(Start());
    EXPECT_TRUE(peer_->NothingMoreArrived()) << "call " << futures.size();
  }
  futures.push_back(Start());
  ExpectCallStarts(held + 1, &next_id);
  EXPECT_TRUE(peer_->NothingMoreArrived());
  Answer(1, static_cast<int>(futures.size()));
  ExpectReplies(futures);
}

TEST_P(BatchCallStartsTest, FlushSendsHeldCallsWithoutWaiting) {
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, Threshold(), &next_id);
  futures.push_back(Start());
  EXPECT_TRUE(peer_->NothingMoreArrived());

  channel_->Flush();
  ExpectCallStarts(1, &next_id);
  Answer(1, Threshold() + 1);
  ExpectReplies(futures);
}

TEST_P(BatchCallStartsTest, HeldCallsGoOutBeforeALaterBlockingCall) {
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, Threshold(), &next_id);
  futures.push_back(Start());
  EXPECT_TRUE(peer_->NothingMoreArrived());

  // A blocking call writes the held call first, in the same write, and
  // ids keep rising on the wire.
  std::thread blocking = StartBlockingCall();
  ExpectCallStarts(2, &next_id);
  Answer(1, Threshold() + 2);
  blocking.join();
  ExpectReplies(futures);
}

// A thread already waiting on the connection would not look at held calls
// again, so none is held while one waits: the call goes out at once.
TEST_P(BatchCallStartsTest, NothingIsHeldWhileAThreadWaits) {
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, Threshold(), &next_id);
  std::thread blocking = StartBlockingCall();
  ExpectCallStarts(1, &next_id);
  // Over the threshold, but the blocking thread waits (or, if it has not
  // started to, flushes before it does): either way it reaches the wire.
  futures.push_back(Start());
  ExpectCallStarts(1, &next_id);
  Answer(1, Threshold() + 2);
  blocking.join();
  ExpectReplies(futures);
}

TEST_P(BatchCallStartsTest, WithoutBatchingEveryCallIsWrittenAsItStarts) {
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/false, 12, &next_id);
  Answer(1, 12);
  ExpectReplies(futures);
}

// A held call that is abandoned still reaches the server, followed by its
// CANCEL: the server never sees a CANCEL for a call it does not know.
TEST_P(BatchCallStartsTest, AbandonedHeldCallIsSentThenCancelled) {
  uint32_t next_id;
  std::vector<Future> futures =
      StartAndReadCalls(/*batch=*/true, Threshold(), &next_id);
  { Future abandoned = Start(); }  // destroyed before Get(): cancelled

  ExpectCallStarts(1, &next_id);
  absl::StatusOr<ReceivedFrame> cancel = peer_->ReadFrame(kCallTimeout);
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->header.type, static_cast<uint8_t>(FrameType::kCancel));
  EXPECT_EQ(cancel->header.stream_id, static_cast<uint32_t>(Threshold() + 1));
  Answer(1, Threshold());
  ExpectReplies(futures);
}

// Callback calls that reactions start (in a `done`, on the channel's event
// loop) are held by the same policy whatever batch_call_starts says, and
// leave together when the loop's turn ends: no thread waits on the
// channel here, yet every one reaches the server, in order.
TEST_P(BatchCallStartsTest, CallsStartedByReactionsGoOutWithoutAnyoneWaiting) {
  constexpr int kChains = 8;
  MakeStub(/*batch=*/false);
  struct Chain {
    increment::IncrementRequest request;
    increment::IncrementReply reply;
    int calls_left = 2;  // each chain's first call starts its second
  };
  std::vector<Chain> chains(kChains);
  std::atomic<int> running{kChains};
  std::atomic<int> failures{0};
  std::promise<void> all_done;
  std::function<void(Chain*)> start = [&](Chain* chain) {
    chain->request.set_character("A");
    stub_->async()->Increment(
        nullptr, &chain->request, &chain->reply,
        [&, chain](absl::Status status) {
          if (!status.ok() || chain->reply.character() != "B") ++failures;
          if (--chain->calls_left > 0) return start(chain);
          if (--running == 0) all_done.set_value();
        });
  };
  start(&chains[0]);  // connects
  Accept();
  for (int i = 1; i < kChains; ++i) start(&chains[i]);
  uint32_t next_id = 1;
  ExpectCallStarts(kChains, &next_id);

  // One read brings every reply: one turn of the loop runs every `done`,
  // and each starts its chain's next call.
  Answer(1, kChains);
  ExpectCallStarts(kChains, &next_id);
  EXPECT_TRUE(peer_->NothingMoreArrived());
  Answer(kChains + 1, kChains);
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(failures.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, BatchCallStartsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Tcp" : "Unix");
                         });

}  // namespace
}  // namespace sockrpc
