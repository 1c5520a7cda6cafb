// Client interceptors that wrap calls (client/interceptor.h): OnRequest
// sees or refuses each request before it is sent, OnReply changes or
// refuses each reply before the application gets it, OnStatus replaces the
// status. Through every client form: blocking unary, streams, futures and
// the callback API, against a real server over a unix socket.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client_callback.h"
#include "client/client_context.h"
#include "client/interceptor.h"
#include "gtest/gtest.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "server/interceptor.h"
#include "tests/interop/interop_callback_service.h"
#include "tests/testing/local_server.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::interop::UploadChunk;
using ::sockrpc::interop::UploadSummary;
using ::sockrpc::testing::LocalServer;

constexpr absl::Duration kTimeout = absl::Seconds(10);

// A one-time event another thread waits for. sockrpc's Mutex, not
// Done: Debian's Abseil is not built for ThreadSanitizer,
// which would not see the hand-off.
class Done {
 public:
  void Notify() {
    MutexLock lock(&mu_);
    done_ = true;
  }
  bool Wait() {
    MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_; },
        absl::Now() + kTimeout);
  }

 private:
  Mutex mu_;
  bool done_ = false;
};

// Refuses the request or reply with a given number (1-based); appends "+"
// to each reply's body; maps INTERNAL to UNAVAILABLE "mapped". Records
// what it saw.
class ClientHookProbe final : public ClientInterceptor {
 public:
  int refuse_request = 0;  // 0: none
  int refuse_reply = 0;
  bool map_internal = false;

  absl::Status OnRequest(
      absl::string_view method, ClientContext& context,
      const google::protobuf::MessageLite& request) override {
    MutexLock lock(&mu_);
    if (++requests_ == refuse_request) {
      return absl::PermissionDeniedError("request refused by a hook");
    }
    return absl::OkStatus();
  }
  absl::Status OnReply(absl::string_view method, ClientContext& context,
                       google::protobuf::MessageLite& reply) override {
    MutexLock lock(&mu_);
    if (++replies_ == refuse_reply) {
      return absl::ResourceExhaustedError("reply refused by a hook");
    }
    if (auto* unary = dynamic_cast<UnaryReply*>(&reply)) {
      unary->mutable_body()->append("+");
    } else if (auto* chunk = dynamic_cast<StreamChunk*>(&reply)) {
      chunk->mutable_body()->append("+");
    }
    return absl::OkStatus();
  }
  void OnStatus(absl::string_view method, const ClientContext& context,
                absl::Status& status) override {
    if (map_internal && absl::IsInternal(status)) {
      status = absl::UnavailableError("mapped");
    }
  }
  void OnCallEnd(absl::string_view method, const ClientContext& context,
                 const absl::Status& status, absl::Duration elapsed) override {
    MutexLock lock(&mu_);
    ended_.push_back(status);
  }

  int requests() {
    MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<absl::Status> ended() {
    MutexLock lock(&mu_);
    return ended_;
  }

 private:
  Mutex mu_;
  int requests_ = 0;
  int replies_ = 0;
  std::vector<absl::Status> ended_;
};

// Counts the calls the server sees.
class ServerCallCounter final : public ServerInterceptor {
 public:
  absl::Status OnCallStart(ServerContext& context) override {
    MutexLock lock(&mu_);
    ++calls_;
    return absl::OkStatus();
  }
  int calls() {
    MutexLock lock(&mu_);
    return calls_;
  }

 private:
  Mutex mu_;
  int calls_ = 0;
};

class ClientInterceptorHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions server_options;
    server_options.interceptors.push_back(&server_calls_);
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_}, std::move(server_options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ChannelOptions options;
    options.interceptors.push_back(&probe_);
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        server_->NewChannel(options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<InteropTest::Stub>(*channel);
  }
  static UnaryRequest EchoInternal() {
    UnaryRequest request;
    request.mutable_echo_status()->set_code(
        static_cast<uint32_t>(absl::StatusCode::kInternal));
    request.mutable_echo_status()->set_message("boom");
    return request;
  }

  ClientHookProbe probe_;
  ServerCallCounter server_calls_;
  interop::InteropCallbackService service_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<InteropTest::Stub> stub_;
};

TEST_F(ClientInterceptorHooksTest, BlockingUnaryReplyIsChangedAndStatusMapped) {
  probe_.map_internal = true;
  UnaryRequest request;
  request.set_reply_size(2);
  ClientContext context;
  context.set_timeout(kTimeout);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->body().size(), 3u);  // two bytes and the hook's "+"
  EXPECT_EQ(probe_.requests(), 1);

  ClientContext failing;
  failing.set_timeout(kTimeout);
  reply = stub_->UnaryCall(&failing, EchoInternal());
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "mapped");
  ASSERT_EQ(probe_.ended().size(), 2u);
  EXPECT_TRUE(absl::IsUnavailable(probe_.ended()[1]));  // what it got
}

TEST_F(ClientInterceptorHooksTest, RefusedRequestIsNeverSent) {
  probe_.refuse_request = 1;
  ClientContext context;
  context.set_timeout(kTimeout);
  absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&context, UnaryRequest());
  EXPECT_TRUE(absl::IsPermissionDenied(reply.status())) << reply.status();
  // A later call goes through: the server saw only that one.
  ClientContext next;
  next.set_timeout(kTimeout);
  ASSERT_TRUE(stub_->UnaryCall(&next, UnaryRequest()).ok());
  EXPECT_EQ(server_calls_.calls(), 1);
}

TEST_F(ClientInterceptorHooksTest, RefusedStreamWriteFailsTheCall) {
  probe_.refuse_request = 2;
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientWriter<UploadChunk, UploadSummary> writer =
      stub_->StreamingInputCall(&context);
  UploadChunk chunk;
  chunk.set_body("x");
  EXPECT_TRUE(writer.Write(chunk));
  EXPECT_FALSE(writer.Write(chunk));  // refused
  absl::StatusOr<UploadSummary> summary = writer.Finish();
  EXPECT_TRUE(absl::IsPermissionDenied(summary.status())) << summary.status();
}

TEST_F(ClientInterceptorHooksTest, StreamRepliesAreChangedAndARefusalEndsIt) {
  probe_.refuse_reply = 3;
  DownloadRequest request;
  for (uint32_t size : {1, 2, 3, 4}) request.add_reply_sizes(size);
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientReader<StreamChunk> reader =
      stub_->StreamingOutputCall(&context, request);
  StreamChunk chunk;
  std::vector<size_t> sizes;
  while (reader.Read(&chunk)) sizes.push_back(chunk.body().size());
  absl::Status status = reader.Finish();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 3}));  // each with its "+"
}

TEST_F(ClientInterceptorHooksTest, FutureGetsTheChangedReplyAndMappedStatus) {
  probe_.map_internal = true;
  UnaryRequest request;
  request.set_reply_size(4);
  absl::StatusOr<UnaryReply> reply = stub_->AsyncUnaryCall(request).Get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->body().size(), 5u);
  reply = stub_->AsyncUnaryCall(EchoInternal()).Get();
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
}

TEST_F(ClientInterceptorHooksTest, CallbackUnaryGetsTheChangedReply) {
  probe_.map_internal = true;
  UnaryRequest request;
  request.set_reply_size(1);
  UnaryReply reply;
  absl::Status status;
  Done done;
  stub_->async()->UnaryCall(nullptr, &request, &reply, [&](absl::Status s) {
    status = s;
    done.Notify();
  });
  ASSERT_TRUE(done.Wait());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(reply.body().size(), 2u);

  const UnaryRequest failing = EchoInternal();
  Done failed;
  stub_->async()->UnaryCall(nullptr, &failing, &reply, [&](absl::Status s) {
    status = s;
    failed.Notify();
  });
  ASSERT_TRUE(failed.Wait());
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
}

// Reads every reply of a StreamingOutputCall; owned by the test.
class Downloader final : public ClientReadReactor<StreamChunk> {
 public:
  Downloader(InteropTest::Stub* stub, const DownloadRequest& request)
      : request_(request) {
    context_.set_timeout(kTimeout);
    stub->async()->StreamingOutputCall(&context_, &request_, this);
    StartRead(&chunk_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    sizes_.push_back(chunk_.body().size());
    StartRead(&chunk_);
  }
  void OnDone(const absl::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  bool Wait() { return done_.Wait(); }
  const std::vector<size_t>& sizes() const { return sizes_; }
  const absl::Status& status() const { return status_; }

 private:
  ClientContext context_;
  const DownloadRequest request_;
  StreamChunk chunk_;
  std::vector<size_t> sizes_;
  absl::Status status_;
  Done done_;
};

TEST_F(ClientInterceptorHooksTest, CallbackReadsAreChangedAndARefusalEndsIt) {
  probe_.refuse_reply = 2;
  DownloadRequest request;
  for (uint32_t size : {5, 6, 7}) request.add_reply_sizes(size);
  Downloader downloader(stub_.get(), request);
  ASSERT_TRUE(downloader.Wait());
  EXPECT_EQ(downloader.sizes(), (std::vector<size_t>{6}));
  EXPECT_TRUE(absl::IsResourceExhausted(downloader.status()))
      << downloader.status();
}

// Writes one chunk before StartCall(), then half-closes.
class EarlyUploader final : public ClientWriteReactor<UploadChunk> {
 public:
  explicit EarlyUploader(InteropTest::Stub* stub) {
    context_.set_timeout(kTimeout);
    stub->async()->StreamingInputCall(&context_, &summary_, this);
    chunk_.set_body("early");
    StartWrite(&chunk_);  // before the call opens
    StartWritesDone();
    StartCall();
  }
  void OnDone(const absl::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  bool Wait() { return done_.Wait(); }
  const absl::Status& status() const { return status_; }
  const UploadSummary& summary() const { return summary_; }

 private:
  ClientContext context_;
  UploadChunk chunk_;
  UploadSummary summary_;
  absl::Status status_;
  Done done_;
};

TEST_F(ClientInterceptorHooksTest, CallbackWriteBeforeTheCallOpensIsHooked) {
  EarlyUploader sent(stub_.get());
  ASSERT_TRUE(sent.Wait());
  ASSERT_TRUE(sent.status().ok()) << sent.status();
  EXPECT_EQ(sent.summary().total_size(), 5u);
  EXPECT_EQ(probe_.requests(), 1);

  probe_.refuse_request = 2;
  EarlyUploader refused(stub_.get());
  ASSERT_TRUE(refused.Wait());
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
}

}  // namespace
}  // namespace sockrpc
