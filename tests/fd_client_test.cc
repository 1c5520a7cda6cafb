// Passing file descriptors through the client library (ClientContext's
// AttachFd()/TakeFd(), ChannelOptions::max_fds_per_message) to a server in
// this process, so that /proc/self/fd shows a leak on either side.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client_callback.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "sockrpc/test/fds/files.sockrpc.pb.h"
#include "tests/testing/call_end.h"
#include "tests/testing/fd_testing.h"
#include "tests/testing/files_service.h"
#include "tests/testing/temp_dir.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

using ::sockrpc::test::fds::DescribeReply;
using ::sockrpc::test::fds::DescribeRequest;
using ::sockrpc::test::fds::Files;
using ::sockrpc::test::fds::OpenReply;
using ::sockrpc::test::fds::OpenRequest;
using ::sockrpc::testing::CallbackFilesService;
using ::sockrpc::testing::CallEnd;
using ::sockrpc::testing::Contents;
using ::sockrpc::testing::FilesService;
using ::sockrpc::testing::MemfdHolding;
using ::sockrpc::testing::OpenFdCount;
using ::sockrpc::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

class FdClientTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { fds_before_ = OpenFdCount(); }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::Now());
    server_.reset();
    EXPECT_EQ(OpenFdCount(), fds_before_)
        << "a descriptor leaked: " << testing::DescribeOpenFds();
  }

  // Starts a server taking up to `server_max_fds` descriptors per message
  // at `address` ("" for a unix socket in a temp dir), and a channel to it
  // taking up to `client_max_fds`.
  void Start(uint32_t server_max_fds, uint32_t client_max_fds,
             std::string address = "") {
    ServerOptions options;
    options.max_fds_per_message = server_max_fds;
    options.log = [](absl::string_view) {};
    server_ = std::make_unique<Server>(std::move(options));
    Service* service = GetParam() ? static_cast<Service*>(&callback_service_)
                                  : static_cast<Service*>(&service_);
    ASSERT_TRUE(server_->RegisterService(service).ok());
    if (address.empty()) address = absl::StrCat("unix:", dir_.path(), "/s");
    absl::StatusOr<std::string> bound = server_->Listen(address);
    ASSERT_TRUE(bound.ok()) << bound.status();
    ASSERT_TRUE(server_->Start().ok());
    ChannelOptions channel_options;
    channel_options.max_fds_per_message = client_max_fds;
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannel(*bound, channel_options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *std::move(channel);
    stub_ = std::make_unique<Files::Stub>(channel_);
  }

  // A Describe call whose request carries `count` memfds; its status.
  absl::Status DescribeWithFds(int count) {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    DescribeRequest request;
    for (int i = 0; i < count; ++i) {
      *request.add_files() = context.AttachFd(MemfdHolding("x"));
    }
    return stub_->Describe(&context, request).status();
  }

  TempDir dir_;
  FilesService service_;
  CallbackFilesService callback_service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<Files::Stub> stub_;
  int fds_before_ = 0;
};

TEST_P(FdClientTest, ARequestCarriesDescriptorsToTheHandler) {
  Start(4, 0);
  ClientContext context;
  context.set_timeout(kCallTimeout);
  DescribeRequest request;
  *request.add_files() = context.AttachFd(MemfdHolding("one"));
  *request.mutable_wrapped()->mutable_file() =
      context.AttachFd(MemfdHolding("two"));
  (*request.mutable_named())["k"] = context.AttachFd(MemfdHolding("three"));
  absl::StatusOr<DescribeReply> reply = stub_->Describe(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->contents(), ElementsAre("one", "two", "three"));
}

TEST_P(FdClientTest, TheAsynchronousApiPassesThemToo) {
  Start(4, 0);
  ClientContext context;
  context.set_timeout(kCallTimeout);
  DescribeRequest request;
  *request.add_files() = context.AttachFd(MemfdHolding("async"));
  absl::StatusOr<DescribeReply> reply =
      stub_->AsyncDescribe(&context, request).Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->contents(), ElementsAre("async"));
}

TEST_P(FdClientTest, AReplyCarriesDescriptorsToTheCaller) {
  Start(0, 4);
  ClientContext context;
  context.set_timeout(kCallTimeout);
  OpenRequest request;
  request.set_text("opened");
  request.set_count(3);
  absl::StatusOr<OpenReply> reply = stub_->Open(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->files_size(), 3);
  for (const FileDescriptor& field : reply->files()) {
    absl::StatusOr<Fd> file = context.TakeFd(field);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(Contents(file->get()), "opened");
  }
  EXPECT_EQ(context.TakeFd(reply->files(0)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(FdClientTest, DescriptorsNotTakenAreClosedWithTheContext) {
  Start(0, 4);
  {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    OpenRequest request;
    request.set_count(2);
    ASSERT_TRUE(stub_->Open(&context, request).ok());
  }
  // TearDown checks the count.
}

TEST_P(FdClientTest, StreamsPassDescriptorsWithEachMessage) {
  Start(1, 1);
  {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    auto writer = stub_->DescribeAll(&context);
    for (const char* text : {"a", "b", "c"}) {
      DescribeRequest request;
      *request.add_files() = context.AttachFd(MemfdHolding(text));
      ASSERT_TRUE(writer.Write(request));
    }
    absl::StatusOr<DescribeReply> reply = writer.Finish();
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_THAT(reply->contents(), ElementsAre("a", "b", "c"));
  }
  ClientContext context;
  context.set_timeout(kCallTimeout);
  OpenRequest request;
  request.set_text("part");
  request.set_count(3);
  auto reader = stub_->OpenEach(&context, request);
  OpenReply reply;
  std::vector<std::string> seen;
  while (reader.Read(&reply)) {
    absl::StatusOr<Fd> file = context.TakeFd(reply.files(0));
    ASSERT_TRUE(file.ok()) << file.status();
    seen.push_back(Contents(file->get()));
  }
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_THAT(seen, ElementsAre("part0", "part1", "part2"));
}

TEST_P(FdClientTest, AServerThatTakesNoneFailsTheCallBeforeItIsSent) {
  Start(0, 0);
  absl::Status status = DescribeWithFds(1);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("accepts no file descriptors"));
  // The connection is fine for other calls.
  EXPECT_TRUE(DescribeWithFds(0).ok());
}

TEST_P(FdClientTest, MoreThanTheServerTakesFailsTheCall) {
  Start(1, 0);
  absl::Status status = DescribeWithFds(2);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("2 file descriptors in one message"));
}

TEST_P(FdClientTest, OverTcpTheCallFailsBeforeItIsSent) {
  Start(4, 4, "ipv4:127.0.0.1:0");
  absl::Status status = DescribeWithFds(1);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("pass only over unix sockets"));
}

TEST_P(FdClientTest, AClientThatTakesNoneGetsFailedPreconditionForAReply) {
  Start(4, 0);
  ClientContext context;
  context.set_timeout(kCallTimeout);
  OpenRequest request;
  request.set_count(1);
  absl::StatusOr<OpenReply> reply = stub_->Open(&context, request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(reply.status().message()),
              HasSubstr("accepts no file descriptors"));
}

// A callback Describe whose request carries a memfd holding each of
// `texts`; its status, and the reply's contents in `*contents`.
absl::Status CallbackDescribe(Files::Stub& stub,
                              const std::vector<std::string>& texts,
                              std::vector<std::string>* contents) {
  ClientContext context;
  context.set_timeout(kCallTimeout);
  DescribeRequest request;
  for (const std::string& text : texts) {
    *request.add_files() = context.AttachFd(MemfdHolding(text));
  }
  DescribeReply reply;
  CallEnd end;
  stub.async()->Describe(&context, &request, &reply,
                         [&end](absl::Status result) { end.Set(result); });
  absl::Status status = end.Wait();
  contents->assign(reply.contents().begin(), reply.contents().end());
  return status;
}

// A callback DescribeAll writing one request per element of `writes`, each
// carrying a memfd per text.
class Uploader final : public ClientWriteReactor<DescribeRequest> {
 public:
  Uploader(ClientContext* context, std::vector<std::vector<std::string>> writes)
      : context_(context), writes_(std::move(writes)) {}
  void Go() {
    WriteNext();
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }
  void OnDone(const absl::Status& status) override { end_.Set(status); }
  absl::Status Wait() { return end_.Wait(); }

 private:
  void WriteNext() {
    if (next_ == writes_.size()) {
      StartWritesDone();
      return;
    }
    request_.Clear();
    for (const std::string& text : writes_[next_++]) {
      *request_.add_files() = context_->AttachFd(MemfdHolding(text));
    }
    StartWrite(&request_);
  }

  ClientContext* const context_;
  const std::vector<std::vector<std::string>> writes_;
  size_t next_ = 0;
  DescribeRequest request_;
  CallEnd end_;
};

absl::Status CallbackDescribeAll(Files::Stub& stub,
                                 std::vector<std::vector<std::string>> writes,
                                 std::vector<std::string>* contents) {
  ClientContext context;
  context.set_timeout(kCallTimeout);
  DescribeReply reply;
  Uploader uploader(&context, std::move(writes));
  stub.async()->DescribeAll(&context, &reply, &uploader);
  uploader.Go();
  absl::Status status = uploader.Wait();
  contents->assign(reply.contents().begin(), reply.contents().end());
  return status;
}

TEST_P(FdClientTest, ACallbackCallsRequestCarriesDescriptors) {
  Start(4, 0);
  // The first call on the connection waits, unsent, for the server to say
  // whether it takes descriptors; the second knows at once.
  for (const char* round : {"first", "second"}) {
    std::vector<std::string> contents;
    absl::Status status =
        CallbackDescribe(*stub_, {round, "and", "more"}, &contents);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_THAT(contents, ElementsAre(round, "and", "more"));
  }
}

TEST_P(FdClientTest, ACallbackCallsWritesCarryDescriptors) {
  Start(2, 0);
  std::vector<std::string> contents;
  absl::Status status =
      CallbackDescribeAll(*stub_, {{"a"}, {"b", "c"}, {}, {"d"}}, &contents);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(contents, ElementsAre("a", "b", "c", "d"));
}

TEST_P(FdClientTest, ACallbackCallToAServerThatTakesNoneFails) {
  Start(0, 0);
  std::vector<std::string> contents;
  absl::Status status = CallbackDescribe(*stub_, {"x"}, &contents);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("accepts no file descriptors"));
  status = CallbackDescribeAll(*stub_, {{}, {"y"}}, &contents);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  // The connection is fine for other calls.
  status = CallbackDescribe(*stub_, {}, &contents);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(FdClientTest, ACallbackWriteWithMoreThanTheServerTakesFails) {
  Start(1, 0);
  std::vector<std::string> contents;
  absl::Status status =
      CallbackDescribeAll(*stub_, {{"a"}, {"b", "c"}}, &contents);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("2 file descriptors in one message"));
}

TEST_P(FdClientTest, ACallbackCallOverTcpFailsBeforeItIsSent) {
  Start(4, 4, "ipv4:127.0.0.1:0");
  std::vector<std::string> contents;
  absl::Status status = CallbackDescribe(*stub_, {"x"}, &contents);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("pass only over unix sockets"));
}

INSTANTIATE_TEST_SUITE_P(BlockingAndCallbackServer, FdClientTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CallbackServer"
                                             : "BlockingServer";
                         });

}  // namespace
}  // namespace sockrpc
