// Server interceptors that wrap calls (server/interceptor.h): OnRequest
// changes or refuses request messages, OnReply refuses replies, OnStatus
// replaces the status before it is sent. Each test runs against both the
// blocking and the callback form of the interop service, over a real unix
// socket; the last ones through the real interop_server binary
// (--redact_errors), callback and blocking.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "server/interceptor.h"
#include "server/server.h"
#include "tests/interop/interop_callback_service.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/child_process.h"
#include "tests/testing/local_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::interop::UploadChunk;
using ::sockrpc::interop::UploadSummary;
using ::sockrpc::testing::LocalServer;

constexpr absl::Duration kTimeout = absl::Seconds(10);

// Appends "+" to each request's body; refuses the request or reply with a
// given number (1-based, counted per call kind); maps INTERNAL to
// UNAVAILABLE "mapped" with trailing metadata. Records what it saw.
class HookProbe final : public ServerInterceptor {
 public:
  int refuse_request = 0;  // 0: none
  int refuse_reply = 0;
  bool map_internal = false;

  absl::Status OnRequest(ServerContext& context,
                         google::protobuf::MessageLite& request) override {
    MutexLock lock(&mu_);
    if (++requests_ == refuse_request) {
      return absl::PermissionDeniedError("request refused by a hook");
    }
    if (auto* unary = dynamic_cast<UnaryRequest*>(&request)) {
      unary->mutable_body()->append("+");
    } else if (auto* chunk = dynamic_cast<UploadChunk*>(&request)) {
      chunk->mutable_body()->append("+");
    } else if (auto* duplex = dynamic_cast<DuplexRequest*>(&request)) {
      duplex->mutable_body()->append("+");
    }
    return absl::OkStatus();
  }
  absl::Status OnReply(ServerContext& context,
                       const google::protobuf::MessageLite& reply) override {
    MutexLock lock(&mu_);
    if (++replies_ == refuse_reply) {
      return absl::ResourceExhaustedError("reply refused by a hook");
    }
    return absl::OkStatus();
  }
  void OnStatus(ServerContext& context, absl::Status& status) override {
    MutexLock lock(&mu_);
    seen_statuses_.push_back(status);
    if (map_internal && absl::IsInternal(status)) {
      context.AddTrailingMetadata("mapped-from", status.ToString());
      status = absl::UnavailableError("mapped");
    }
  }
  void OnCallEnd(const ServerContext& context, const absl::Status& status,
                 absl::Duration elapsed) override {
    MutexLock lock(&mu_);
    ended_.push_back(status);
  }

  int requests() {
    MutexLock lock(&mu_);
    return requests_;
  }
  int replies() {
    MutexLock lock(&mu_);
    return replies_;
  }
  std::vector<absl::Status> seen_statuses() {
    MutexLock lock(&mu_);
    return seen_statuses_;
  }
  // Waits for `count` calls to end: OnCallEnd may run just after the
  // client has its status.
  std::vector<absl::Status> AwaitEnded(size_t count) {
    MutexLock lock(&mu_);
    awaited_ = count;
    mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return ended_.size() >= awaited_;
        },
        absl::Now() + kTimeout);
    return ended_;
  }

 private:
  // sockrpc's Mutex, not absl's: Debian's Abseil is not built for
  // ThreadSanitizer, which would not see its hand-offs.
  Mutex mu_;
  int requests_ = 0;
  int replies_ = 0;
  std::vector<absl::Status> seen_statuses_;
  std::vector<absl::Status> ended_;
  size_t awaited_ = 0;
};

// The parameter: whether the service is the callback form.
class InterceptorHooksTest : public ::testing::TestWithParam<bool> {
 protected:
  void StartServer() {
    Service* service = GetParam() ? static_cast<Service*>(&callback_service_)
                                  : static_cast<Service*>(&blocking_service_);
    ServerOptions options;
    options.interceptors.push_back(&probe_);
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({service}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<InteropTest::Stub>(*channel);
  }
  void Bound(ClientContext* context) { context->set_timeout(kTimeout); }

  HookProbe probe_;
  interop::InteropService blocking_service_;
  interop::InteropCallbackService callback_service_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<InteropTest::Stub> stub_;
};

TEST_P(InterceptorHooksTest, UnaryRequestIsChangedBeforeTheHandlerSeesIt) {
  StartServer();
  UnaryRequest request;
  request.set_body("abc");
  request.set_reply_size(2);
  ClientContext context;
  Bound(&context);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->request_size(), 4u);  // "abc+"
  EXPECT_EQ(probe_.requests(), 1);
  EXPECT_EQ(probe_.replies(), 1);
  EXPECT_EQ(probe_.AwaitEnded(1), std::vector<absl::Status>{absl::OkStatus()});
}

TEST_P(InterceptorHooksTest, RefusedUnaryRequestEndsTheCallWithItsStatus) {
  probe_.refuse_request = 1;
  StartServer();
  ClientContext context;
  Bound(&context);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, UnaryRequest());
  EXPECT_TRUE(absl::IsPermissionDenied(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "request refused by a hook");
  EXPECT_EQ(probe_.replies(), 0);  // the handler never made one
  ASSERT_EQ(probe_.AwaitEnded(1).size(), 1u);
  EXPECT_TRUE(absl::IsPermissionDenied(probe_.AwaitEnded(1)[0]));
}

TEST_P(InterceptorHooksTest, EachStreamedRequestIsSeenAndChanged) {
  StartServer();
  ClientContext context;
  Bound(&context);
  ClientWriter<UploadChunk, UploadSummary> writer =
      stub_->StreamingInputCall(&context);
  for (int size : {1, 2, 3}) {
    UploadChunk chunk;
    chunk.set_body(std::string(size, 'x'));
    ASSERT_TRUE(writer.Write(chunk));
  }
  absl::StatusOr<UploadSummary> summary = writer.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->chunk_count(), 3u);
  EXPECT_EQ(summary->total_size(), 6u + 3u);  // a "+" on each
  EXPECT_EQ(probe_.requests(), 3);
  EXPECT_EQ(probe_.replies(), 1);
}

TEST_P(InterceptorHooksTest, RefusedStreamedRequestEndsTheCallWithItsStatus) {
  probe_.refuse_request = 2;
  StartServer();
  ClientContext context;
  Bound(&context);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      stub_->FullDuplexCall(&context);
  DuplexRequest request;
  request.set_reply_size(5);
  ASSERT_TRUE(stream.Write(request));
  StreamChunk chunk;
  ASSERT_TRUE(stream.Read(&chunk));  // the first one is answered
  EXPECT_EQ(chunk.body().size(), 5u);
  (void)stream.Write(request);  // refused by the hook
  EXPECT_FALSE(stream.Read(&chunk));
  absl::Status status = stream.Finish();
  EXPECT_TRUE(absl::IsPermissionDenied(status)) << status;
  EXPECT_EQ(probe_.requests(), 2);
  ASSERT_EQ(probe_.AwaitEnded(1).size(), 1u);
  EXPECT_TRUE(absl::IsPermissionDenied(probe_.AwaitEnded(1)[0]));
}

TEST_P(InterceptorHooksTest, RefusedStreamedReplyEndsTheCallAfterTheOthers) {
  probe_.refuse_reply = 3;
  StartServer();
  DownloadRequest request;
  for (uint32_t size : {1, 2, 3, 4}) request.add_reply_sizes(size);
  ClientContext context;
  Bound(&context);
  ClientReader<StreamChunk> reader =
      stub_->StreamingOutputCall(&context, request);
  StreamChunk chunk;
  std::vector<uint32_t> indexes;
  while (reader.Read(&chunk)) indexes.push_back(chunk.index());
  absl::Status status = reader.Finish();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_EQ(status.message(), "reply refused by a hook");
  EXPECT_EQ(indexes, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(probe_.replies(), 3);  // the fourth was never offered
  // The handler (or reactor) learns of the end and the call is done.
  ASSERT_EQ(probe_.AwaitEnded(1).size(), 1u);
  EXPECT_TRUE(absl::IsResourceExhausted(probe_.AwaitEnded(1)[0]));
}

TEST_P(InterceptorHooksTest, StatusIsReplacedBeforeItIsSent) {
  probe_.map_internal = true;
  StartServer();
  UnaryRequest request;
  request.mutable_echo_status()->set_code(
      static_cast<uint32_t>(absl::StatusCode::kInternal));
  request.mutable_echo_status()->set_message("secret detail");
  ClientContext context;
  Bound(&context);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "mapped");
  ASSERT_EQ(context.server_trailing_metadata().size(), 1u);
  EXPECT_EQ(context.server_trailing_metadata()[0].first, "mapped-from");
  EXPECT_TRUE(absl::StrContains(context.server_trailing_metadata()[0].second,
                                "secret detail"));
  // OnStatus saw the handler's; OnCallEnd sees what was sent.
  ASSERT_EQ(probe_.seen_statuses().size(), 1u);
  EXPECT_TRUE(absl::IsInternal(probe_.seen_statuses()[0]));
  ASSERT_EQ(probe_.AwaitEnded(1).size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(probe_.AwaitEnded(1)[0]));
}

TEST_P(InterceptorHooksTest, StreamStatusIsReplacedAfterItsReplies) {
  probe_.map_internal = true;
  StartServer();
  DownloadRequest request;
  request.add_reply_sizes(3);
  request.mutable_echo_status()->set_code(
      static_cast<uint32_t>(absl::StatusCode::kInternal));
  ClientContext context;
  Bound(&context);
  ClientReader<StreamChunk> reader =
      stub_->StreamingOutputCall(&context, request);
  StreamChunk chunk;
  int received = 0;
  while (reader.Read(&chunk)) ++received;
  absl::Status status = reader.Finish();
  EXPECT_EQ(received, 1);
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  ASSERT_EQ(probe_.AwaitEnded(1).size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(probe_.AwaitEnded(1)[0]));
}

INSTANTIATE_TEST_SUITE_P(BothServerApis, InterceptorHooksTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Callback" : "Blocking";
                         });

// ---- Through the real interop_server: --redact_errors ----

class RedactErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::StartedServer> server = testing::StartServerProcess(
        "interop_server",
        {"--listen", "unix:" + dir_.File("s"), "--redact_errors"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannel(server_.address);
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<InteropTest::Stub>(*channel);
  }

  testing::TempDir dir_;
  testing::StartedServer server_;
  std::unique_ptr<InteropTest::Stub> stub_;
};

TEST_F(RedactErrorsTest, InternalErrorReachesTheClientWithoutItsDetails) {
  UnaryRequest request;
  request.mutable_echo_status()->set_code(
      static_cast<uint32_t>(absl::StatusCode::kInternal));
  request.mutable_echo_status()->set_message("password=hunter2");
  ClientContext context;
  context.set_timeout(kTimeout);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
  EXPECT_TRUE(absl::IsInternal(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "internal error (ref 1)");
  ASSERT_EQ(context.server_trailing_metadata().size(), 1u);
  EXPECT_EQ(context.server_trailing_metadata()[0],
            (std::pair<std::string, std::string>("error-ref", "1")));
  // The server keeps the details, under the same reference.
  absl::StatusOr<std::string> line =
      server_.process->WaitForLine("error ref 1: ", kTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(
      absl::StrContains(*line, "/sockrpc.interop.InteropTest/UnaryCall"))
      << *line;
  EXPECT_TRUE(absl::StrContains(*line, "password=hunter2")) << *line;
}

TEST_F(RedactErrorsTest, ClientErrorsAndSuccessPassUnchanged) {
  UnaryRequest request;
  request.mutable_echo_status()->set_code(
      static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
  request.mutable_echo_status()->set_message("bad field x");
  ClientContext context;
  context.set_timeout(kTimeout);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
  EXPECT_TRUE(absl::IsInvalidArgument(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "bad field x");
  EXPECT_TRUE(context.server_trailing_metadata().empty());

  ClientContext ok_context;
  ok_context.set_timeout(kTimeout);
  UnaryRequest ok_request;
  ok_request.set_body("xy");
  reply = stub_->UnaryCall(&ok_context, ok_request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->request_size(), 2u);
}

}  // namespace
}  // namespace sockrpc
