// What a callback (reactor) call whose request carries file descriptors
// puts on the wire before the server has said whether it takes them: the
// test plays the server on a real socket, so it sees every frame, in
// order. The call waits unsent (a PING asks for the server's first frame);
// it goes out whole once the server's SETTINGS take its descriptors, and
// nothing of it is ever sent if they do not or if it ends first.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/client_callback.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sockrpc/test/fds/files.sockrpc.pb.h"
#include "tests/testing/call_end.h"
#include "tests/testing/fd_testing.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/socket_testing.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

using ::sockrpc::test::fds::DescribeReply;
using ::sockrpc::test::fds::DescribeRequest;
using ::sockrpc::test::fds::Files;
using ::sockrpc::testing::AcceptOne;
using ::sockrpc::testing::CallEnd;
using ::sockrpc::testing::MemfdHolding;
using ::sockrpc::testing::OpenFdCount;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReceivedFrame;
using ::sockrpc::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(10);

FrameType TypeOf(const ReceivedFrame& frame) {
  return static_cast<FrameType>(frame.header.type);
}

class FdCallbackWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_before_ = OpenFdCount();
    absl::StatusOr<Address> address =
        ParseAddress(absl::StrCat("unix:", dir_.path(), "/wire.sock"));
    ASSERT_TRUE(address.ok()) << address.status();
    absl::StatusOr<Listener> listener = Listener::Bind(*address);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::make_unique<Listener>(*std::move(listener));
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannel(listener_->address().ToString());
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *std::move(channel);
    stub_ = std::make_unique<Files::Stub>(channel_);
  }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    server_.reset();
    listener_.reset();
    EXPECT_EQ(OpenFdCount(), fds_before_)
        << "a descriptor leaked: " << testing::DescribeOpenFds();
  }

  // Starts a callback Describe whose request carries one memfd; `end`
  // gets its status.
  void StartDescribe(ClientContext* context, CallEnd* end) {
    *request_.add_files() = context->AttachFd(MemfdHolding("memfd"));
    stub_->async()->Describe(context, &request_, &reply_,
                             [end](absl::Status status) { end->Set(status); });
  }

  // Accepts the client's connection and reads its preface and first frame,
  // which must be the PING asking for the server's first frame: nothing
  // of the call goes before it.
  void AcceptAndExpectPing() {
    server_ = std::make_unique<RawConnection>(
        RawConnection::Adopt(AcceptOne(*listener_)));
    ASSERT_TRUE(server_->ReadPreface(kTimeout).ok());
    absl::StatusOr<ReceivedFrame> ping = server_->ReadFrame(kTimeout);
    ASSERT_TRUE(ping.ok()) << ping.status();
    EXPECT_EQ(TypeOf(*ping), FrameType::kPing);
  }

  // Sends our preface, then SETTINGS taking `max_fds` descriptors per
  // message (none at all if 0), then the PING's answer.
  void AnswerWithSettings(uint32_t max_fds) {
    std::string out;
    AppendPreface(&out);
    if (max_fds > 0) {
      wire::Settings settings;
      settings.set_max_fds_per_message(max_fds);
      ASSERT_TRUE(AppendMessageFrame(&out, FrameType::kSettings, 0, 0, settings,
                                     kDefaultMaxFrameSize)
                      .ok());
    }
    AppendRawFrame(&out, FrameType::kPing, kFlagAck, 0, std::string(8, '\0'));
    ASSERT_TRUE(server_->Send(out, kTimeout).ok());
  }

  // Closes the client's side and returns the types of the frames that
  // arrived until then.
  std::vector<FrameType> FramesUntilTheClientCloses() {
    stub_.reset();
    channel_.reset();
    std::vector<FrameType> types;
    for (;;) {
      absl::StatusOr<ReceivedFrame> frame = server_->ReadFrame(kTimeout);
      if (!frame.ok()) {
        EXPECT_THAT(std::string(frame.status().message()), HasSubstr("closed"))
            << frame.status();
        return types;
      }
      types.push_back(TypeOf(*frame));
    }
  }

  TempDir dir_;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<Files::Stub> stub_;
  std::unique_ptr<RawConnection> server_;
  DescribeRequest request_;
  DescribeReply reply_;
  int fds_before_ = 0;
};

TEST_F(FdCallbackWireTest, TheCallGoesOutWholeOnceTheServerTakesDescriptors) {
  ClientContext context;
  context.set_timeout(kTimeout);
  CallEnd end;
  StartDescribe(&context, &end);
  AcceptAndExpectPing();
  AnswerWithSettings(4);
  std::vector<FrameType> types;
  uint32_t stream_id = 0;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ReceivedFrame> frame = server_->ReadFrame(kTimeout);
    ASSERT_TRUE(frame.ok()) << frame.status();
    types.push_back(TypeOf(*frame));
    stream_id = frame->header.stream_id;
  }
  EXPECT_THAT(types, ElementsAre(FrameType::kHeaders, FrameType::kFds,
                                 FrameType::kMessage));
  DescribeReply reply;
  reply.add_contents("seen");
  std::string out;
  ASSERT_TRUE(AppendMessageFrame(&out, FrameType::kMessage, 0, stream_id, reply,
                                 kDefaultMaxFrameSize)
                  .ok());
  AppendRawFrame(&out, FrameType::kStatus, 0, stream_id, "");
  ASSERT_TRUE(server_->Send(out, kTimeout).ok());
  const absl::Status status = end.Wait();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(reply_.contents(), ElementsAre("seen"));
}

TEST_F(FdCallbackWireTest, AServerThatTakesNoneNeverSeesTheCall) {
  ClientContext context;
  context.set_timeout(kTimeout);
  CallEnd end;
  StartDescribe(&context, &end);
  AcceptAndExpectPing();
  AnswerWithSettings(0);
  const absl::Status status = end.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("accepts no file descriptors"));
  EXPECT_THAT(FramesUntilTheClientCloses(), ::testing::IsEmpty());
}

TEST_F(FdCallbackWireTest, ACallCancelledWhileWaitingIsNeverSent) {
  ClientContext context;
  context.set_timeout(kTimeout);
  CallEnd end;
  StartDescribe(&context, &end);
  AcceptAndExpectPing();  // the call waits, holding its descriptor
  const int while_waiting = OpenFdCount();
  context.TryCancel();
  const absl::Status status = end.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  // Its descriptor closed as it ended (TearDown counts the rest).
  EXPECT_EQ(OpenFdCount(), while_waiting - 1) << testing::DescribeOpenFds();
  AnswerWithSettings(4);
  EXPECT_THAT(FramesUntilTheClientCloses(), ::testing::IsEmpty());
}

TEST_F(FdCallbackWireTest, ACallWhoseDeadlinePassesWhileWaitingIsNeverSent) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(100));
  CallEnd end;
  StartDescribe(&context, &end);
  AcceptAndExpectPing();
  const absl::Status status = end.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  AnswerWithSettings(4);
  EXPECT_THAT(FramesUntilTheClientCloses(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace sockrpc
