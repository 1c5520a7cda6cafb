// Replies written with WriteOptions::set_buffer_hint(), end to end in one
// process: a real Server on a unix socket, read by the generated client or
// by a hand-made peer (RawConnection) that sees exactly what reached the
// socket. Hinted replies must wait in the call (nothing on the socket),
// then leave, in order, with the next plain write, with the STATUS, before
// the handler waits to read, or before it waits for window; a call
// cancelled meanwhile drops them.
//
// Each test runs against a blocking service and a callback one.
//
// Over a unix socket a write is in the peer's receive queue when the
// sender's sendmsg() returns, so "nothing arrived" right after the
// handler's Write() returned is a fact, not a race.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

using ::sockrpc::CallbackServerContext;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::ClientReaderWriter;
using ::sockrpc::FrameType;
using ::sockrpc::ServerBidiReactor;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerReaderWriter;
using ::sockrpc::ServerWriter;
using ::sockrpc::ServerWriteReactor;
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

// How a download's reply of `size` bytes is written: with the hint, unless
// the size is odd.
WriteOptions DownloadHint(uint32_t size) {
  WriteOptions options;
  if (size % 2 == 0) options.set_buffer_hint();
  return options;
}

StreamChunk Chunk(int index, uint32_t size) {
  StreamChunk chunk;
  chunk.set_index(static_cast<uint32_t>(index));
  chunk.set_body(std::string(size, static_cast<char>('a' + index % 26)));
  return chunk;
}

// What a test sees of a hinting service, blocking or callback. In a
// gated download the handler writes one reply per requested size, with
// the hint unless the size is odd (DownloadHint),
// says so (hinted_written), and, with expect_cancel, waits for the call's
// cancellation (cancelled); Release() has it write one reply without the
// hint (plain_written, with the write's result); LetFinish() lets it end
// the call with OK. Ungated, it writes the hinted replies and ends the
// call. Its bidirectional handler answers each request with one hinted
// reply.
class HintingServer {
 public:
  virtual ~HintingServer() = default;
  virtual sockrpc::Service* service() = 0;
  virtual void Release() = 0;
  virtual void LetFinish() = 0;

  // Set by the test before the call starts.
  std::atomic<bool> gated{false};
  std::atomic<bool> expect_cancel{false};
  Signal hinted_written;
  Signal cancelled;
  Signal plain_written;
  bool plain_write_result = false;  // set before plain_written
};

class BlockingHintingService final : public InteropService,
                                     public HintingServer {
 public:
  sockrpc::Service* service() override { return this; }
  void Release() override { release_.Notify(); }
  void LetFinish() override { finish_.Notify(); }

  absl::Status StreamingOutputCall(ServerContext* context,
                                   const DownloadRequest& request,
                                   ServerWriter<StreamChunk>* writer) override {
    int index = 0;
    for (uint32_t size : request.reply_sizes()) {
      if (!writer->Write(Chunk(index++, size), DownloadHint(size))) {
        return absl::AbortedError("a hinted write failed");
      }
    }
    if (!gated) return absl::OkStatus();
    hinted_written.Notify();
    if (expect_cancel && context->WaitForCancellation(absl::Now() + kTimeout)) {
      cancelled.Notify();
    }
    if (!release_.WaitForNotificationWithTimeout(kTimeout)) {
      return absl::DeadlineExceededError("never released");
    }
    plain_write_result = writer->Write(Chunk(index, 8));
    plain_written.Notify();
    if (!finish_.WaitForNotificationWithTimeout(kTimeout)) {
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

 private:
  Signal release_;
  Signal finish_;
};

// The download as a reactor: every write started at once, in its
// constructor (before the runtime binds it).
class HintingWriter final : public ServerWriteReactor<StreamChunk> {
 public:
  HintingWriter(HintingServer* server, const DownloadRequest& request)
      : server_(server), hinted_(request.reply_sizes_size()) {
    int index = 0;
    for (uint32_t size : request.reply_sizes()) {
      const StreamChunk chunk = Chunk(index++, size);
      StartWrite(&chunk, DownloadHint(size));
    }
    if (!server_->gated) Finish(absl::OkStatus());
  }
  void WritePlain() {
    const StreamChunk chunk = Chunk(hinted_, 8);
    StartWrite(&chunk);
  }
  void OnWriteDone(bool ok) override {
    if (++done_ == hinted_ && server_->gated) server_->hinted_written.Notify();
    if (done_ == hinted_ + 1) {
      server_->plain_write_result = ok;
      server_->plain_written.Notify();
    }
  }
  void OnCancel() override { server_->cancelled.Notify(); }
  void OnDone() override { delete this; }

 private:
  HintingServer* const server_;
  const int hinted_;
  int done_ = 0;  // reactions run one at a time
};

class HintingEcho final : public ServerBidiReactor<DuplexRequest, StreamChunk> {
 public:
  HintingEcho() { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    const StreamChunk chunk = Chunk(index_++, request_.reply_size());
    StartWrite(&chunk, WriteOptions().set_buffer_hint());
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  DuplexRequest request_;
  int index_ = 0;
};

class CallbackHintingService final : public InteropTest::CallbackService,
                                     public HintingServer {
 public:
  sockrpc::Service* service() override { return this; }
  // The gated download's reactor is alive until LetFinish(): it finishes
  // only then.
  void Release() override { writer_.load()->WritePlain(); }
  void LetFinish() override { writer_.load()->Finish(absl::OkStatus()); }

  ServerWriteReactor<StreamChunk>* StreamingOutputCall(
      CallbackServerContext* context, const DownloadRequest* request) override {
    auto* writer = new HintingWriter(this, *request);
    if (gated) writer_ = writer;
    return writer;
  }
  ServerBidiReactor<DuplexRequest, StreamChunk>* FullDuplexCall(
      CallbackServerContext* context) override {
    return new HintingEcho();
  }

 private:
  std::atomic<HintingWriter*> writer_{nullptr};
};

// Param: true for the callback service.
class BufferHintTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      hinting_ = std::make_unique<CallbackHintingService>();
    } else {
      hinting_ = std::make_unique<BlockingHintingService>();
    }
    auto server = LocalServer::Start({hinting_->service()});
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

  // Downloads replies of `sizes` with the generated client, and expects
  // each, in order, and an OK status.
  void ExpectDownload(const std::vector<uint32_t>& sizes) {
    DownloadRequest request;
    for (uint32_t size : sizes) request.add_reply_sizes(size);
    ClientContext context;
    context.set_timeout(kTimeout);
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, request);
    StreamChunk chunk;
    int received = 0;
    while (reader.Read(&chunk)) {
      ASSERT_EQ(chunk.index(), static_cast<uint32_t>(received));
      ASSERT_EQ(chunk.body().size(), sizes[received]);
      ++received;
    }
    absl::Status status = reader.Finish();
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(received, static_cast<int>(sizes.size()));
  }

  std::unique_ptr<HintingServer> hinting_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<InteropTest::Stub> stub_;
  std::unique_ptr<RawConnection> raw_;
};

TEST_P(BufferHintTest, HintedRepliesWaitForTheNextPlainWrite) {
  hinting_->gated = true;
  StartRawDownload({64, 64, 64});
  ASSERT_TRUE(
      hinting_->hinted_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_TRUE(raw_->NothingMoreArrived())
      << "a reply written with the buffer hint was sent at once";

  hinting_->Release();
  ASSERT_TRUE(hinting_->plain_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_TRUE(hinting_->plain_write_result);
  for (int i = 0; i < 4; ++i) ExpectReply(i);
  EXPECT_TRUE(raw_->NothingMoreArrived()) << "the STATUS came early";

  hinting_->LetFinish();
  std::string unused;
  absl::Status outcome =
      sockrpc::testing::ReadCallOutcome(raw_.get(), 1, kTimeout, &unused);
  EXPECT_TRUE(outcome.ok()) << outcome;
}

TEST_P(BufferHintTest, HintedRepliesLeaveWithTheStatus) {
  ExpectDownload(std::vector<uint32_t>(100, 64));
}

TEST_P(BufferHintTest, HintedRepliesLeaveBeforeTheHandlerWaitsToRead) {
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

TEST_P(BufferHintTest, HintedRepliesLeaveBeforeTheHandlerWaitsForWindow) {
  // A plain 20 KB reply (less than the 32 KiB the client returns window
  // for), then hinted 30 KiB ones: the window (64 KiB) runs out after the
  // second, which wait in the call below their 64 KiB limit. Unless they
  // leave before the next write waits for window, the client never has
  // enough to return window for, and the stream stops until its deadline.
  std::vector<uint32_t> sizes(8, 30 * 1024);
  sizes[0] = 20001;
  ExpectDownload(sizes);
}

TEST_P(BufferHintTest, CancelledCallDropsItsHintedReplies) {
  hinting_->gated = true;
  hinting_->expect_cancel = true;
  StartRawDownload({64, 64});
  ASSERT_TRUE(
      hinting_->hinted_written.WaitForNotificationWithTimeout(kTimeout));
  ASSERT_TRUE(raw_->Send(sockrpc::testing::RawFrameHeader(
                             0, 1, static_cast<uint8_t>(FrameType::kCancel), 0),
                         kTimeout)
                  .ok());
  ASSERT_TRUE(hinting_->cancelled.WaitForNotificationWithTimeout(kTimeout));
  hinting_->Release();
  ASSERT_TRUE(hinting_->plain_written.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_FALSE(hinting_->plain_write_result)
      << "a write after the cancel succeeded";
  hinting_->LetFinish();
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

INSTANTIATE_TEST_SUITE_P(BlockingAndCallback, BufferHintTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Callback" : "Blocking";
                         });

}  // namespace
