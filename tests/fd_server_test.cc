// The server's side of passing file descriptors (docs/PROTOCOL.md section
// 16), seen from the wire: a server in this process (so that its
// descriptor table is this one, and leaks show in /proc/self/fd) serves the
// Files test service, and the test plays the client frame by frame with
// sendmsg(SCM_RIGHTS).
#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "sockrpc/test/fds/files.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/testing/fd_testing.h"
#include "tests/testing/files_service.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"
#include "transport/fd_passing.h"
#include "transport/socket.h"
#include "transport/sync.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

using ::sockrpc::test::fds::DescribeReply;
using ::sockrpc::test::fds::DescribeRequest;
using ::sockrpc::test::fds::OpenReply;
using ::sockrpc::test::fds::OpenRequest;
using ::sockrpc::testing::CallbackFilesService;
using ::sockrpc::testing::Contents;
using ::sockrpc::testing::FilesService;
using ::sockrpc::testing::MemfdHolding;
using ::sockrpc::testing::OpenFdCount;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::ReadCallOutcome;
using ::sockrpc::testing::ReadGoAway;
using ::sockrpc::testing::ReceivedFrame;
using ::sockrpc::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kIoTimeout = absl::Seconds(10);
constexpr char kDescribe[] = "/sockrpc.test.fds.Files/Describe";
constexpr char kDescribeAll[] = "/sockrpc.test.fds.Files/DescribeAll";
constexpr char kOpen[] = "/sockrpc.test.fds.Files/Open";
constexpr char kOpenEach[] = "/sockrpc.test.fds.Files/OpenEach";

std::string Frame(FrameType type, uint32_t stream_id,
                  const google::protobuf::MessageLite& message,
                  uint8_t flags = 0) {
  std::string out;
  (void)AppendMessageFrame(&out, type, flags, stream_id, message,
                           kDefaultMaxFrameSize);
  return out;
}

std::string FdsFrame(uint32_t stream_id, uint32_t count) {
  wire::FdsHeader header;
  header.set_count(count);
  return Frame(FrameType::kFds, stream_id, header);
}

// Runs each case against the blocking service and the callback one.
class FdServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_fds_per_message = 4;
    options.max_fds_per_connection = 6;
    options.log = [this](absl::string_view line) {
      MutexLock lock(&log_mu_);
      log_.emplace_back(line);
    };
    server_ = std::make_unique<Server>(std::move(options));
    Service* service = GetParam() ? static_cast<Service*>(&callback_service_)
                                  : static_cast<Service*>(&service_);
    ASSERT_TRUE(server_->RegisterService(service).ok());
    absl::StatusOr<std::string> address =
        server_->Listen(absl::StrCat("unix:", dir_.path(), "/fds.sock"));
    ASSERT_TRUE(address.ok()) << address.status();
    address_ = *address;
    ASSERT_TRUE(server_->Start().ok());
    fds_before_ = OpenFdCount();
    open_before_ = testing::DescribeOpenFds();
  }

  void TearDown() override {
    server_->Shutdown(absl::Now());
    server_.reset();
  }

  // Connects, sends our preface and reads the server's, with its SETTINGS.
  // With `client_max_fds`, the client's SETTINGS announce that many.
  RawConnection Connect(uint32_t* server_max_fds,
                        std::optional<uint32_t> client_max_fds = {}) {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(address_, kIoTimeout);
    EXPECT_TRUE(raw.ok()) << raw.status();
    std::string preface;
    AppendPreface(&preface);
    if (client_max_fds.has_value()) {
      wire::Settings settings;
      settings.set_max_fds_per_message(*client_max_fds);
      preface += Frame(FrameType::kSettings, 0, settings);
    }
    EXPECT_TRUE(raw->Send(preface, kIoTimeout).ok());
    EXPECT_TRUE(raw->ReadPreface(kIoTimeout).ok());
    absl::StatusOr<ReceivedFrame> settings = raw->ReadFrame(kIoTimeout);
    EXPECT_TRUE(settings.ok()) << settings.status();
    if (settings.ok()) {
      EXPECT_EQ(settings->header.type,
                static_cast<uint8_t>(FrameType::kSettings));
      wire::Settings parsed;
      EXPECT_TRUE(parsed.ParseFromString(settings->payload));
      *server_max_fds = parsed.max_fds_per_message();
    }
    return *std::move(raw);
  }

  // Sends `bytes`, the first of which carries `fds`.
  static void SendWithFds(RawConnection& raw, const std::string& bytes,
                          const std::vector<int>& fds) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    absl::StatusOr<size_t> sent = WriteSomeWithFds(raw.fd(), &iov, 1, fds);
    ASSERT_TRUE(sent.ok()) << sent.status();
    ASSERT_EQ(*sent, bytes.size());
  }

  static std::string Headers(uint32_t stream_id, const char* method) {
    return testing::HeadersFrame(stream_id, method);
  }

  // Reads stream 1's reply and status.
  static absl::StatusOr<DescribeReply> ReadReply(RawConnection& raw,
                                                 uint32_t stream_id = 1) {
    DescribeReply reply;
    for (;;) {
      absl::StatusOr<ReceivedFrame> frame = raw.ReadFrame(kIoTimeout);
      if (!frame.ok()) return frame.status();
      if (frame->header.stream_id != stream_id) continue;
      if (frame->header.type == static_cast<uint8_t>(FrameType::kMessage)) {
        reply.ParseFromString(frame->payload);
      } else if (frame->header.type ==
                 static_cast<uint8_t>(FrameType::kStatus)) {
        wire::CallStatus status;
        status.ParseFromString(frame->payload);
        if (status.code() != 0) {
          return absl::Status(static_cast<absl::StatusCode>(status.code()),
                              status.message());
        }
        return reply;
      }
    }
  }

  // Closes `raw` and expects the server to close its end and every
  // descriptor the connection received (bounded wait for the count).
  void ExpectNoLeak(RawConnection raw) {
    { RawConnection closed = std::move(raw); }
    const absl::Time deadline = absl::Now() + kIoTimeout;
    while (OpenFdCount() != fds_before_ && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(OpenFdCount(), fds_before_)
        << "before: " << open_before_
        << "\nnow: " << testing::DescribeOpenFds();
  }

  TempDir dir_;
  FilesService service_;
  CallbackFilesService callback_service_;
  std::unique_ptr<Server> server_;
  std::string address_;
  int fds_before_ = 0;
  std::string open_before_;
  Mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_P(FdServerTest, ServerAnnouncesItsLimitInSettings) {
  uint32_t max_fds = 0;
  RawConnection raw = Connect(&max_fds);
  EXPECT_EQ(max_fds, 4u);
}

TEST_P(FdServerTest, UnaryRequestCarriesDescriptorsInEveryKindOfField) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  request.add_files()->set_index(2);
  request.add_files()->set_index(0);
  request.mutable_wrapped()->mutable_file()->set_index(1);
  (*request.mutable_named())["key"].set_index(3);
  Fd a = MemfdHolding("a"), b = MemfdHolding("b"), c = MemfdHolding("c"),
     d = MemfdHolding("d");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribe), kIoTimeout).ok());
  SendWithFds(
      raw,
      FdsFrame(1, 4) + Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      {a.get(), b.get(), c.get(), d.get()});
  absl::StatusOr<DescribeReply> reply = ReadReply(raw);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->contents(), ElementsAre("c", "a", "b", "d"));
  a.reset(), b.reset(), c.reset(), d.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, AnIndexBeyondTheDescriptorsFailsTheCallInvalidArgument) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  request.add_files()->set_index(0);
  request.add_files()->set_index(5);
  Fd a = MemfdHolding("a");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribe), kIoTimeout).ok());
  SendWithFds(
      raw,
      FdsFrame(1, 1) + Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      {a.get()});
  absl::StatusOr<DescribeReply> reply = ReadReply(raw);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(reply.status().message()),
      HasSubstr("file descriptor index 5, but the message came with 1"));
  a.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, DescriptorsNoFieldNamesAreClosedAndTakingTwiceFails) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  request.add_files()->set_index(1);
  request.add_files()->set_index(1);
  Fd a = MemfdHolding("a"), b = MemfdHolding("b");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribe), kIoTimeout).ok());
  SendWithFds(
      raw,
      FdsFrame(1, 2) + Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      {a.get(), b.get()});
  absl::StatusOr<DescribeReply> reply = ReadReply(raw);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->contents(),
              ElementsAre("b", "file descriptor 1 was taken already"));
  a.reset(), b.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, StreamingRequestsEachBringTheirOwnDescriptors) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest one;
  one.add_files()->set_index(0);
  DescribeRequest none;
  none.add_files()->set_index(0);  // came with nothing: TakeFd says so
  Fd a = MemfdHolding("first"), b = MemfdHolding("second");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribeAll), kIoTimeout).ok());
  SendWithFds(raw, FdsFrame(1, 1) + Frame(FrameType::kMessage, 1, one),
              {a.get()});
  ASSERT_TRUE(raw.Send(Frame(FrameType::kMessage, 1, none), kIoTimeout).ok());
  SendWithFds(
      raw, FdsFrame(1, 1) + Frame(FrameType::kMessage, 1, one, kFlagEndStream),
      {b.get()});
  absl::StatusOr<DescribeReply> reply = ReadReply(raw);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(
      reply->contents(),
      ElementsAre("first",
                  "file descriptor index 0, but the message came with 0",
                  "second"));
  a.reset(), b.reset();
  ExpectNoLeak(std::move(raw));
}

// Sends `bytes` with `fds` and expects a GOAWAY INTERNAL naming `why`, and
// that the connection closes with no descriptor left open.
void ExpectConnectionError(RawConnection& raw, const std::string& bytes,
                           const std::vector<int>& fds,
                           const std::string& why) {
  if (fds.empty()) {
    ASSERT_TRUE(raw.Send(bytes, kIoTimeout).ok());
  } else {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    ASSERT_TRUE(WriteSomeWithFds(raw.fd(), &iov, 1, fds).ok());
  }
  absl::StatusOr<wire::GoAway> goaway = ReadGoAway(&raw, kIoTimeout);
  ASSERT_TRUE(goaway.ok()) << goaway.status();
  EXPECT_EQ(goaway->code(), static_cast<uint32_t>(absl::StatusCode::kInternal));
  EXPECT_THAT(goaway->message(), HasSubstr(why));
  EXPECT_TRUE(raw.WaitForClose(kIoTimeout).ok());
}

TEST_P(FdServerTest, DescriptorsWithoutAnFdsFrameAreAConnectionError) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  Fd a = MemfdHolding("a");
  ExpectConnectionError(
      raw, Headers(1, kDescribe) + Frame(FrameType::kMessage, 1, request),
      {a.get()}, "arrived with no FDS frame");
  a.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, AnFdsFrameWithoutDescriptorsIsAConnectionError) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  ExpectConnectionError(
      raw,
      Headers(1, kDescribe) + FdsFrame(1, 1) +
          Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      {}, "none came with it");
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, ACountOtherThanTheDescriptorsIsAConnectionError) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  Fd a = MemfdHolding("a"), b = MemfdHolding("b");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribe), kIoTimeout).ok());
  ExpectConnectionError(
      raw,
      FdsFrame(1, 1) + Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      {a.get(), b.get()}, "announces 1 descriptors, but 2");
  a.reset(), b.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, MoreThanTheAnnouncedLimitIsAConnectionError) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  std::vector<Fd> files;
  std::vector<int> raw_fds;
  for (int i = 0; i < 5; ++i) {
    files.push_back(MemfdHolding("x"));
    raw_fds.push_back(files.back().get());
  }
  ASSERT_TRUE(raw.Send(Headers(1, kDescribe), kIoTimeout).ok());
  ExpectConnectionError(
      raw,
      FdsFrame(1, 5) + Frame(FrameType::kMessage, 1, request, kFlagEndStream),
      raw_fds, "1 to 4 may come with a message");
  files.clear();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, AnFdsFrameNotFollowedByItsMessageIsAConnectionError) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  Fd a = MemfdHolding("a");
  ASSERT_TRUE(
      raw.Send(Headers(1, kDescribe) + Headers(3, kDescribe), kIoTimeout).ok());
  ExpectConnectionError(
      raw,
      FdsFrame(1, 1) + Frame(FrameType::kMessage, 3, request, kFlagEndStream),
      {a.get()}, "instead of its MESSAGE");
  a.reset();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, DescriptorsOverTheConnectionsLimitFailOnlyThatCall) {
  // max_fds_per_connection is 6: a streaming call holding 4 leaves room
  // for 2; a call bringing 4 more fails, and the connection goes on.
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  std::vector<Fd> files;
  std::vector<int> raw_fds;
  for (int i = 0; i < 4; ++i) {
    files.push_back(MemfdHolding("x"));
    raw_fds.push_back(files.back().get());
  }
  ASSERT_TRUE(
      raw.Send(Headers(1, kDescribeAll) + Headers(3, kDescribe), kIoTimeout)
          .ok());
  SendWithFds(raw, FdsFrame(1, 4) + Frame(FrameType::kMessage, 1, request),
              raw_fds);
  SendWithFds(
      raw,
      FdsFrame(3, 4) + Frame(FrameType::kMessage, 3, request, kFlagEndStream),
      raw_fds);
  absl::StatusOr<DescribeReply> refused = ReadReply(raw, 3);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("too many file descriptors"));
  // The first call ends well, and gives its descriptors back.
  ASSERT_TRUE(
      raw.Send(testing::RawFrameHeader(
                   0, 1, static_cast<uint8_t>(FrameType::kHalfClose), 0),
               kIoTimeout)
          .ok());
  absl::StatusOr<DescribeReply> reply = ReadReply(raw, 1);
  ASSERT_TRUE(reply.ok()) << reply.status();
  files.clear();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, ADisconnectInTheMiddleLeaksNothing) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);
  DescribeRequest request;
  Fd a = MemfdHolding("a");
  ASSERT_TRUE(raw.Send(Headers(1, kDescribeAll), kIoTimeout).ok());
  SendWithFds(raw, FdsFrame(1, 1) + Frame(FrameType::kMessage, 1, request),
              {a.get()});
  SendWithFds(raw, FdsFrame(1, 1), {a.get()});  // its MESSAGE never comes
  ASSERT_TRUE(raw.HangUp().ok());
  a.reset();
  ExpectNoLeak(std::move(raw));
}

// What a client that reads with recvmsg() gets on one stream up to its
// STATUS: the frames' types in order, the replies, the descriptors, the
// status.
struct ReceivedCall {
  std::vector<uint8_t> types;
  std::vector<OpenReply> replies;
  std::vector<Fd> fds;
  absl::Status status;
};

ReceivedCall ReadCallWithFds(RawConnection& raw, uint32_t stream_id) {
  ReceivedCall call;
  std::string bytes;
  const absl::Time deadline = absl::Now() + kIoTimeout;
  for (;;) {
    while (bytes.size() >= kFrameHeaderSize) {
      absl::StatusOr<FrameHeader> header = DecodeFrameHeader(bytes.data());
      if (!header.ok()) {
        call.status = header.status();
        return call;
      }
      if (bytes.size() < kFrameHeaderSize + header->length) break;
      const std::string payload =
          bytes.substr(kFrameHeaderSize, header->length);
      bytes.erase(0, kFrameHeaderSize + header->length);
      if (header->stream_id != stream_id) continue;
      call.types.push_back(header->type);
      if (header->type == static_cast<uint8_t>(FrameType::kMessage)) {
        call.replies.emplace_back().ParseFromString(payload);
      } else if (header->type == static_cast<uint8_t>(FrameType::kStatus)) {
        wire::CallStatus status;
        status.ParseFromString(payload);
        call.status = absl::Status(static_cast<absl::StatusCode>(status.code()),
                                   status.message());
        return call;
      }
    }
    if (absl::Status ready = WaitFor(raw.fd(), POLLIN, deadline); !ready.ok()) {
      call.status = ready;
      return call;
    }
    char buffer[4096];
    absl::StatusOr<ssize_t> n =
        ReadSomeWithFds(raw.fd(), buffer, sizeof(buffer), &call.fds);
    if (!n.ok() || *n == 0) {
      call.status = absl::UnavailableError("connection closed");
      return call;
    }
    if (*n > 0) bytes.append(buffer, static_cast<size_t>(*n));
  }
}

std::string OpenCall(uint32_t stream_id, const char* method,
                     const std::string& text, uint32_t count) {
  OpenRequest request;
  request.set_text(text);
  request.set_count(count);
  return testing::HeadersFrame(stream_id, method) +
         Frame(FrameType::kMessage, stream_id, request, kFlagEndStream);
}

constexpr uint8_t kFdsType = static_cast<uint8_t>(FrameType::kFds);
constexpr uint8_t kMessageType = static_cast<uint8_t>(FrameType::kMessage);
constexpr uint8_t kStatusType = static_cast<uint8_t>(FrameType::kStatus);

TEST_P(FdServerTest, AUnaryReplyCarriesTheDescriptorsTheHandlerAttached) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds, 4);
  ASSERT_TRUE(raw.Send(OpenCall(1, kOpen, "hello", 2), kIoTimeout).ok());
  ReceivedCall call = ReadCallWithFds(raw, 1);
  ASSERT_TRUE(call.status.ok()) << call.status;
  EXPECT_THAT(call.types, ElementsAre(kFdsType, kMessageType, kStatusType));
  ASSERT_EQ(call.replies.size(), 1u);
  ASSERT_EQ(call.replies[0].files_size(), 2);
  ASSERT_EQ(call.fds.size(), 2u);
  for (const FileDescriptor& field : call.replies[0].files()) {
    ASSERT_LT(field.index(), 2u);
    EXPECT_EQ(Contents(call.fds[field.index()].get()), "hello");
  }
  call.fds.clear();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, EachStreamedReplyCarriesItsOwnDescriptors) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds, 1);
  ASSERT_TRUE(raw.Send(OpenCall(1, kOpenEach, "part", 3), kIoTimeout).ok());
  ReceivedCall call = ReadCallWithFds(raw, 1);
  ASSERT_TRUE(call.status.ok()) << call.status;
  EXPECT_THAT(call.types,
              ElementsAre(kFdsType, kMessageType, kFdsType, kMessageType,
                          kFdsType, kMessageType, kStatusType));
  ASSERT_EQ(call.fds.size(), 3u);
  EXPECT_EQ(Contents(call.fds[0].get()), "part0");
  EXPECT_EQ(Contents(call.fds[2].get()), "part2");
  call.fds.clear();
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, AReplyToAClientThatAcceptsNoneFailsFailedPrecondition) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds);  // no SETTINGS: accepts none
  ASSERT_TRUE(raw.Send(OpenCall(1, kOpen, "x", 1), kIoTimeout).ok());
  ReceivedCall call = ReadCallWithFds(raw, 1);
  EXPECT_EQ(call.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(call.status.message()),
              HasSubstr("accepts no file descriptors"));
  EXPECT_THAT(call.types, ElementsAre(kStatusType));
  EXPECT_TRUE(call.fds.empty());
  ExpectNoLeak(std::move(raw));
}

TEST_P(FdServerTest, AReplyWithMoreThanTheClientAcceptsFails) {
  uint32_t max_fds;
  RawConnection raw = Connect(&max_fds, 1);
  ASSERT_TRUE(raw.Send(OpenCall(1, kOpen, "x", 2), kIoTimeout).ok());
  ReceivedCall call = ReadCallWithFds(raw, 1);
  EXPECT_EQ(call.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(call.status.message()),
              HasSubstr("2 file descriptors in one message, but the client "
                        "accepts at most 1"));
  // One per message is within the limit.
  ASSERT_TRUE(raw.Send(OpenCall(3, kOpenEach, "y", 2), kIoTimeout).ok());
  ReceivedCall each = ReadCallWithFds(raw, 3);
  EXPECT_TRUE(each.status.ok()) << each.status;
  EXPECT_EQ(each.fds.size() + call.fds.size(), 2u);
  call.fds.clear();
  each.fds.clear();
  ExpectNoLeak(std::move(raw));
}

INSTANTIATE_TEST_SUITE_P(BlockingAndCallback, FdServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Callback" : "Blocking";
                         });

}  // namespace
}  // namespace sockrpc
