// Replies written with WriteOptions::set_buffer_hint(), end to end in one
// process: a real Server on a unix socket, read by the generated client or
// by a hand-made peer (RawConnection) that sees exactly what reached the
// socket. Hinted replies must wait in the call (nothing on the socket),
// then leave, in order, with the next plain write, with the STATUS, before
// the handler waits to read, or before it waits for window; a call
// cancelled meanwhile drops them.
//
// Over a unix socket a write is in the peer's receive queue when the
// sender's sendmsg() returns, so "nothing arrived" right after the
// handler's Write() returned is a fact, not a race.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/local_server.h"
#include "tests/testing/raw_connection.h"
#include "transport/frame.h"
#include "transport/sync.h"
#include "transport/wire_codec.h"

namespace {

using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::ClientReaderWriter;
using ::sockrpc::FrameType;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerReaderWriter;
using ::sockrpc::ServerWriter;
using ::sockrpc::WriteOptions;
using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::InteropService;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::testing::LocalServer;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReceivedFrame;

// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(20);
constexpr char kDownloadMethod[] =
    "/sockrpc.interop.InteropTest/StreamingOutputCall";

// A one-way signal between the handler and the test, on the runtime's own
// Mutex (ThreadSanitizer sees its ordering; Debian's absl::Notification
// is not built for it).
class Signal {
 public:
  void Notify() {
    sockrpc::MutexLock lock(&mu_);
    notified_ = true;
  }
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    sockrpc::MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; },
        absl::Now() + timeout);
  }

 private:
  sockrpc::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

StreamChunk Chunk(int index, uint32_t size) {
  StreamChunk chunk;
  chunk.set_index(static_cast<uint32_t>(index));
  chunk.set_body(std::string(size, static_cast<char>('a' + index % 26)));
  return chunk;
}

// Streams with the buffer hint. StreamingOutputCall writes one hinted
// reply per requested size, then, if the test gated it, says so, waits to
// be released and writes one more reply without the hint (or, with
// expect_cancel, waits for the call's cancellation first and tries that
// write). FullDuplexCall answers each request with one hinted reply.
class HintingService : public InteropService {
 public:
  bool gated = false;
  bool expect_cancel = false;
  Signal hinted_written;  // the hinted replies were written
  Signal release;         // the test let the handler go on
  Signal plain_written;   // the plain reply was written (result below)
  Signal finish;          // the test let the handler return
  bool plain_write_result = false;

  absl::Status StreamingOutputCall(ServerContext* context,
                                   const DownloadRequest& request,
                                   ServerWriter<StreamChunk>* writer) override {
    const WriteOptions hinted = WriteOptions().set_buffer_hint();
    int index = 0;
    for (uint32_t size : request.reply_sizes()) {
      if (!writer->Write(Chunk(index++, size), hinted)) {
        return absl::AbortedError("a hinted write failed");
      }
    }
    if (!gated) return absl::OkStatus();
    hinted_written.Notify();
    if (!release.WaitForNotificationWithTimeout(kTimeout)) {
      return absl::DeadlineExceededError("never released");
    }
    if (expect_cancel) context->WaitForCancellation(absl::Now() + kTimeout);
    plain_write_result = writer->Write(Chunk(index, 8));
    plain_written.Notify();
    if (!finish.WaitForNotificationWithTimeout(kTimeout)) {
      return absl::DeadlineExceededError("never finished");
    }
    return absl::OkStatus();
  }

  absl::Status FullDuplexCall(
      ServerContext* context,
      ServerReaderWriter<StreamChunk, DuplexRequest>* stream) override {
    DuplexRequest request;
    int index = 0;
    while (stream->Read(&request)) {
      if (!stream->Write(Chunk(index++, request.reply_size()),
                         WriteOptions().set_buffer_hint())) {
        break;
      }
    }
    return absl::OkStatus();
  }
};

class BufferHintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = LocalServer::Start({&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<InteropTest::Stub>(*channel);
  }

  // Opens a raw connection and starts a download of `sizes` on stream 1.
  void StartRawDownload(std::initializer_list<uint32_t> sizes) {
    auto raw = RawConnection::Open(server_->address(), kTimeout);
    ASSERT_TRUE(raw.ok()) << raw.status();
    raw_ = std::make_unique<RawConnection>(*std::move(raw));
    DownloadRequest request;
    for (uint32_t size : sizes) request.add_reply_sizes(size);
    std::string out;
    sockrpc::AppendPreface(&out);
    out += sockrpc::testing::HeadersFrame(1, kDownloadMethod);
    ASSERT_TRUE(sockrpc::AppendMessageFrame(&out, FrameType::kMessage,
                                            sockrpc::kFlagEndStream, 1, request,
                                            1 << 20)
                    .ok());
    ASSERT_TRUE(raw_->Send(out, kTimeout).ok());
    ASSERT_TRUE(raw_->ReadPreface(kTimeout).ok());
  }

  // Reads the next frame and expects it to be reply `index` of stream 1.
  void ExpectReply(int index) {
    absl::StatusOr<ReceivedFrame> frame = raw_->ReadFrame(kTimeout);
    ASSERT_TRUE(frame.ok()) << frame.status();
    ASSERT_EQ(frame->header.type, static_cast<uint8_t>(FrameType::kMessage));
    ASSERT_EQ(frame->header.stream_id, 1u);
    StreamChunk chunk;
    ASSERT_TRUE(chunk.ParseFromString(frame->payload));
    EXPECT_EQ(chunk.index(), static_cast<uint32_t>(index));
  }

  // Downloads `replies` hinted replies of `size` bytes with the generated
  // client, and expects each, in order, and an OK status.
  void ExpectDownload(int replies, uint32_t size) {
    DownloadRequest request;
    for (int i = 0; i < replies; ++i) request.add_reply_sizes(size);
    ClientContext context;
    context.set_timeout(kTimeout);
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, request);
    StreamChunk chunk;
    int received = 0;
    while (reader.Read(&chunk)) {
      ASSERT_EQ(chunk.index(), static_cast<uint32_t>(received));
      ASSERT_EQ(chunk.body().size(), size);
      ++received;
    }
    absl::Status status = reader.Finish();
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(received, replies);
  }

  HintingService service_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<InteropTest::Stub> stub_;
  std::unique_ptr<RawConnection> raw_;
};

TEST_F(BufferHintTest, HintedRepliesWaitForTheNextPlainWrite) {
  service_.gated = true;
  StartRawDownload({64, 64, 64});
  ASSERT_TRUE(service_.hinted_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_TRUE(raw_->NothingMoreArrived())
      << "a reply written with the buffer hint was sent at once";

  service_.release.Notify();
  ASSERT_TRUE(service_.plain_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_TRUE(service_.plain_write_result);
  for (int i = 0; i < 4; ++i) ExpectReply(i);
  EXPECT_TRUE(raw_->NothingMoreArrived()) << "the STATUS came early";

  service_.finish.Notify();
  std::string unused;
  absl::Status outcome =
      sockrpc::testing::ReadCallOutcome(raw_.get(), 1, kTimeout, &unused);
  EXPECT_TRUE(outcome.ok()) << outcome;
}

TEST_F(BufferHintTest, HintedRepliesLeaveWithTheStatus) {
  ExpectDownload(100, 64);
}

TEST_F(BufferHintTest, HintedRepliesLeaveBeforeTheHandlerWaitsToRead) {
  // Each request waits for its reply: if a hinted reply stayed in the
  // call while the handler waited for the next request, the client would
  // wait for it until its deadline.
  ClientContext context;
  context.set_timeout(kTimeout);
  ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      stub_->FullDuplexCall(&context);
  for (int i = 0; i < 5; ++i) {
    DuplexRequest request;
    request.set_reply_size(100);
    ASSERT_TRUE(stream.Write(request));
    StreamChunk chunk;
    ASSERT_TRUE(stream.Read(&chunk)) << stream.Finish();
    EXPECT_EQ(chunk.index(), static_cast<uint32_t>(i));
  }
  ASSERT_TRUE(stream.WritesDone());
  StreamChunk extra;
  EXPECT_FALSE(stream.Read(&extra));
  absl::Status status = stream.Finish();
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(BufferHintTest, HintedRepliesLeaveBeforeTheHandlerWaitsForWindow) {
  // 30 KiB replies, all hinted: the window (64 KiB) runs out while some
  // wait in the call, and the client returns window only for replies it
  // has read. Unless they leave before Write() waits for window, the
  // stream stops until the client's deadline.
  ExpectDownload(12, 30 * 1024);
}

TEST_F(BufferHintTest, CancelledCallDropsItsHintedReplies) {
  service_.gated = true;
  service_.expect_cancel = true;
  StartRawDownload({64, 64});
  ASSERT_TRUE(service_.hinted_written.WaitForNotificationWithTimeout(kTimeout));
  ASSERT_TRUE(raw_->Send(sockrpc::testing::RawFrameHeader(
                             0, 1, static_cast<uint8_t>(FrameType::kCancel), 0),
                         kTimeout)
                  .ok());
  service_.release.Notify();
  ASSERT_TRUE(service_.plain_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_FALSE(service_.plain_write_result)
      << "a write after the cancel succeeded";
  service_.finish.Notify();
  // The handler returns into a cancelled call; the server shuts down and
  // closes the connection. Until then, nothing of the call arrives.
  server_->server().Shutdown(absl::Now() + kTimeout);
  for (int frames = 0; frames < 10; ++frames) {
    absl::StatusOr<ReceivedFrame> frame = raw_->ReadFrame(kTimeout);
    if (!frame.ok()) {
      EXPECT_NE(frame.status().message().find("closed"), std::string::npos)
          << frame.status();
      return;
    }
    EXPECT_NE(frame->header.stream_id, 1u)
        << "frame of type " << static_cast<int>(frame->header.type)
        << " of the cancelled call";
  }
  ADD_FAILURE() << "the connection never closed";
}

}  // namespace
