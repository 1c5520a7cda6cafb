// Flow control end to end, in one process: a real Server and Channel over a
// unix socket in a temp dir. A server-streaming call whose client stops
// reading must stall its handler's Write() after about one window
// (transport/frame.h, kInitialWindowSize) instead of buffering the stream,
// while other calls on the same channel keep flowing; once the client reads
// again, every reply arrives, in order.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "tests/interop/interop_common.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/local_server.h"
#include "transport/frame.h"

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerWriter;
using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::InteropService;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::testing::LocalServer;
using ::sockrpc::testing::VmRssKilobytes;

// The big stream: 10,000 replies of 64 KiB, 640 MiB in all.
constexpr int kBigReplies = 10000;
constexpr uint32_t kBigReplySize = 64 * 1024;
// Request metadata that marks the big stream, so the probed handler below
// leaves other calls to the plain service.
constexpr char kProbeKey[] = "x-flow-probe";

// How far the server may run ahead of what the client has read, in
// replies: one window's worth (a sender may overshoot the window by one
// message), and slack for a WINDOW_UPDATE in flight. Far below what an
// unbounded sender would queue.
constexpr int kAllowedAhead =
    2 + static_cast<int>(sockrpc::kInitialWindowSize / kBigReplySize) + 2;

// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(30);

// A reply's byte, cheap to make and check: each reply is one repeated byte
// that depends on its index.
char ReplyByte(int index) { return static_cast<char>('a' + index % 26); }

// The interop service, with a probe on the big stream's handler: it counts
// finished Write()s and says whether it is inside one.
class ProbedService : public InteropService {
 public:
  absl::Status StreamingOutputCall(ServerContext* context,
                                   const DownloadRequest& request,
                                   ServerWriter<StreamChunk>* writer) override {
    bool probed = false;
    for (const auto& [key, value] : context->client_metadata()) {
      probed = probed || key == kProbeKey;
    }
    if (!probed) {
      return InteropService::StreamingOutputCall(context, request, writer);
    }
    StreamChunk chunk;
    for (int i = 0; i < request.reply_sizes_size(); ++i) {
      chunk.set_index(i);
      chunk.set_body(std::string(request.reply_sizes(i), ReplyByte(i)));
      in_write_ = true;
      bool written = writer->Write(chunk);
      in_write_ = false;
      if (!written) {
        finished_ = true;
        return absl::CancelledError("the client went away");
      }
      ++written_;
    }
    finished_ = true;
    return absl::OkStatus();
  }

  int written() const { return written_; }
  bool in_write() const { return in_write_; }
  bool finished() const { return finished_; }

 private:
  std::atomic<int> written_{0};
  std::atomic<bool> in_write_{false};
  std::atomic<bool> finished_{false};
};

class FlowControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    stub_ = std::make_unique<InteropTest::Stub>(channel_);
  }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    server_.reset();
  }

  // Waits until the probed handler's count of finished writes has not
  // moved for `quiet`, and returns it.
  int WaitForStall(absl::Duration quiet) {
    const absl::Time give_up = absl::Now() + kTimeout;
    int last = service_.written();
    absl::Time last_change = absl::Now();
    while (absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
      int now = service_.written();
      if (now != last) {
        last = now;
        last_change = absl::Now();
      } else if (absl::Now() - last_change >= quiet) {
        break;
      }
    }
    return last;
  }

  // Another call on the same channel, with replies of its own, all read.
  void ExpectOtherCallsFlow() {
    UnaryRequest unary;
    unary.set_body(sockrpc::interop::Pattern(100000, 7));
    unary.set_reply_size(200000);
    ClientContext unary_context;
    unary_context.set_timeout(absl::Seconds(5));
    absl::StatusOr<UnaryReply> reply = stub_->UnaryCall(&unary_context, unary);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(
        sockrpc::interop::CheckPattern("reply", reply->body(), 200000, 0).ok());

    DownloadRequest download;
    for (int i = 0; i < 100; ++i) download.add_reply_sizes(kBigReplySize);
    ClientContext context;
    context.set_timeout(absl::Seconds(5));
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, download);
    StreamChunk chunk;
    int received = 0;
    while (reader.Read(&chunk)) {
      ASSERT_EQ(chunk.index(), static_cast<uint32_t>(received));
      ASSERT_EQ(chunk.body().size(), kBigReplySize);
      ++received;
    }
    EXPECT_TRUE(reader.Finish().ok());
    EXPECT_EQ(received, 100);
  }

  ProbedService service_;
  std::unique_ptr<LocalServer> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<InteropTest::Stub> stub_;
};

TEST_F(FlowControlTest, UnreadStreamStallsItsWriterAndOthersKeepFlowing) {
  // Warm the channel up so the baseline memory includes the connection.
  {
    ClientContext context;
    context.set_timeout(kTimeout);
    ASSERT_TRUE(stub_->EmptyCall(&context, Nothing()).ok());
  }
  absl::StatusOr<int64_t> rss_before = VmRssKilobytes(getpid());
  ASSERT_TRUE(rss_before.ok()) << rss_before.status();

  DownloadRequest big;
  for (int i = 0; i < kBigReplies; ++i) big.add_reply_sizes(kBigReplySize);
  ClientContext context;
  context.set_timeout(absl::Seconds(60));
  context.AddMetadata(kProbeKey, "1");
  ClientReader<StreamChunk> reader = stub_->StreamingOutputCall(&context, big);

  // Read one reply, then stop reading.
  StreamChunk chunk;
  ASSERT_TRUE(reader.Read(&chunk)) << reader.Finish();
  ASSERT_EQ(chunk.index(), 0u);
  int read = 1;

  const int stalled = WaitForStall(absl::Milliseconds(500));
  std::printf("the handler stalled after %d writes of %u bytes (window %u)\n",
              stalled, kBigReplySize, sockrpc::kInitialWindowSize);
  EXPECT_TRUE(service_.in_write())
      << "the handler is not blocked in Write() (finished: "
      << service_.finished() << ")";
  EXPECT_LE(stalled, read + kAllowedAhead)
      << "the server ran ahead of the reader by more than a window";
  absl::StatusOr<int64_t> rss_stalled = VmRssKilobytes(getpid());
  ASSERT_TRUE(rss_stalled.ok()) << rss_stalled.status();
  EXPECT_LT(*rss_stalled - *rss_before, 64 * 1024)
      << "memory grew from " << *rss_before << " kB to " << *rss_stalled
      << " kB while the stream was stalled";

  // Other calls on the same channel are not held up; reading for them
  // must not drain the stalled stream into memory either.
  ExpectOtherCallsFlow();
  const int still_stalled = WaitForStall(absl::Milliseconds(300));
  EXPECT_LE(still_stalled, read + kAllowedAhead)
      << "reading other calls let the stalled stream run ahead";
  EXPECT_TRUE(service_.in_write());

  // Now read everything: all replies arrive, in order, intact.
  while (reader.Read(&chunk)) {
    ASSERT_EQ(chunk.index(), static_cast<uint32_t>(read));
    ASSERT_EQ(chunk.body().size(), kBigReplySize);
    ASSERT_EQ(chunk.body().front(), ReplyByte(read));
    ASSERT_EQ(chunk.body().back(), ReplyByte(read));
    ++read;
  }
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_EQ(read, kBigReplies);
  EXPECT_EQ(service_.written(), kBigReplies);
  absl::StatusOr<int64_t> rss_after = VmRssKilobytes(getpid());
  ASSERT_TRUE(rss_after.ok());
  if (!sockrpc::testing::kUnderSanitizer) {
    EXPECT_LT(*rss_after - *rss_before, 128 * 1024)
        << "memory grew from " << *rss_before << " kB to " << *rss_after
        << " kB over a 640 MiB stream";
  }
}

TEST_F(FlowControlTest, StalledReaderAbandoningTheCallUnblocksTheWriter) {
  DownloadRequest big;
  for (int i = 0; i < kBigReplies; ++i) big.add_reply_sizes(kBigReplySize);
  {
    ClientContext context;
    context.set_timeout(kTimeout);
    context.AddMetadata(kProbeKey, "1");
    ClientReader<StreamChunk> reader =
        stub_->StreamingOutputCall(&context, big);
    StreamChunk chunk;
    ASSERT_TRUE(reader.Read(&chunk)) << reader.Finish();
    WaitForStall(absl::Milliseconds(300));
    ASSERT_TRUE(service_.in_write());
    // The reader goes away unfinished: that cancels the call.
  }
  const absl::Time give_up = absl::Now() + kTimeout;
  while (!service_.finished() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(service_.finished())
      << "the handler is still blocked in Write() after the client left";
  EXPECT_LT(service_.written(), kBigReplies);
  ExpectOtherCallsFlow();
}

}  // namespace
