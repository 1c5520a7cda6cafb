// Tests of the code protoc-gen-sockrpc generates for streaming methods and
// for the asynchronous form of unary methods, on tests/protos/streaming.proto:
// the signatures of each kind (checked at compile time), the method table
// the Server dispatches on, and the handlers run in process over a fake
// ServerStream. Calls over sockets live with the runtime's tests.

#include <deque>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gmock/gmock.h"
#include "google/protobuf/message_lite.h"
#include "gtest/gtest.h"
#include "server/method_handler.h"
#include "server/server_context.h"
#include "server/server_stream.h"
#include "server/service.h"
#include "streaming.pb.h"
#include "streaming.sockrpc.pb.h"

namespace sockrpc::test::streaming {
namespace {

using ::sockrpc::ClientContext;
using ::sockrpc::RpcKind;
using ::sockrpc::ServerContext;
using ::testing::ElementsAre;
using ::testing::Pair;

// ---- The client side's API, checked at compile time ----

// Unary: the blocking form and AsyncBar, each with and without a context.
using LatestAsync = ::sockrpc::UnaryFuture<Reading> (Meter::Stub::*)(
    ClientContext*, const WatchRequest&);
using LatestAsyncShort =
    ::sockrpc::UnaryFuture<Reading> (Meter::Stub::*)(const WatchRequest&);
using LatestBlocking = absl::StatusOr<Reading> (Meter::Stub::*)(
    ClientContext*, const WatchRequest&);
[[maybe_unused]] constexpr LatestAsync kLatestAsync = &Meter::Stub::AsyncLatest;
[[maybe_unused]] constexpr LatestAsyncShort kLatestAsyncShort =
    &Meter::Stub::AsyncLatest;
[[maybe_unused]] constexpr LatestBlocking kLatest = &Meter::Stub::Latest;

// Server streaming: the request goes with the call; replies are read.
using Watch = ::sockrpc::ClientReader<Reading> (Meter::Stub::*)(
    ClientContext*, const WatchRequest&);
using WatchShort =
    ::sockrpc::ClientReader<Reading> (Meter::Stub::*)(const WatchRequest&);
[[maybe_unused]] constexpr Watch kWatch = &Meter::Stub::Watch;
[[maybe_unused]] constexpr WatchShort kWatchShort = &Meter::Stub::Watch;

// Client streaming: ClientWriter<Request, Reply>.
using Record =
    ::sockrpc::ClientWriter<Reading, Summary> (Meter::Stub::*)(ClientContext*);
using RecordShort =
    ::sockrpc::ClientWriter<Reading, Summary> (Meter::Stub::*)();
[[maybe_unused]] constexpr Record kRecord = &Meter::Stub::Record;
[[maybe_unused]] constexpr RecordShort kRecordShort = &Meter::Stub::Record;

// Bidi: ClientReaderWriter<Request, Reply>.
using Control = ::sockrpc::ClientReaderWriter<Command, Reading> (
    Meter::Stub::*)(ClientContext*);
using ControlShort =
    ::sockrpc::ClientReaderWriter<Command, Reading> (Meter::Stub::*)();
[[maybe_unused]] constexpr Control kControl = &Meter::Stub::Control;
[[maybe_unused]] constexpr ControlShort kControlShort = &Meter::Stub::Control;

// Names that clash with parameters and members gain an underscore; the
// asynchronous form of Tangle.Latest steps aside for the method AsyncLatest.
[[maybe_unused]] constexpr ::sockrpc::ClientWriter<Reading, Summary> (
    Tangle::Stub::*kReader)() = &Tangle::Stub::reader_;
[[maybe_unused]] constexpr ::sockrpc::ClientReader<Reading> (
    Tangle::Stub::*kWriter)(const WatchRequest&) = &Tangle::Stub::writer_;
[[maybe_unused]] constexpr ::sockrpc::ClientReaderWriter<Command, Reading> (
    Tangle::Stub::*kStream)() = &Tangle::Stub::stream_;
[[maybe_unused]] constexpr absl::StatusOr<Command> (
    Tangle::Stub::*kAddBidi)(const Command&) =
    &Tangle::Stub::AddBidiStreamingMethod_;
[[maybe_unused]] constexpr ::sockrpc::UnaryFuture<Reading> (
    Tangle::Stub::*kAsyncOfLatest)(const WatchRequest&) =
    &Tangle::Stub::AsyncLatest_;
[[maybe_unused]] constexpr absl::StatusOr<Reading> (
    Tangle::Stub::*kAsyncLatestItself)(const WatchRequest&) =
    &Tangle::Stub::AsyncLatest;
[[maybe_unused]] constexpr ::sockrpc::UnaryFuture<Reading> (
    Tangle::Stub::*kAsyncOfAsyncLatest)(const WatchRequest&) =
    &Tangle::Stub::AsyncAsyncLatest;

// ---- The server side's API, checked at compile time ----

[[maybe_unused]] constexpr absl::Status (Meter::Service::*kServeLatest)(
    ServerContext*, const WatchRequest&, Reading*) = &Meter::Service::Latest;
[[maybe_unused]] constexpr absl::Status (Meter::Service::*kServeWatch)(
    ServerContext*, const WatchRequest&, ::sockrpc::ServerWriter<Reading>*) =
    &Meter::Service::Watch;
[[maybe_unused]] constexpr absl::Status (Meter::Service::*kServeRecord)(
    ServerContext*, ::sockrpc::ServerReader<Reading>*, Summary*) =
    &Meter::Service::Record;
// ServerReaderWriter<Reply, Request>: the reverse of the client's order.
[[maybe_unused]] constexpr absl::Status (Meter::Service::*kServeControl)(
    ServerContext*, ::sockrpc::ServerReaderWriter<Reading, Command>*) =
    &Meter::Service::Control;
[[maybe_unused]] constexpr absl::Status (Tangle::Service::*kServeStream)(
    ServerContext*, ::sockrpc::ServerReaderWriter<Reading, Command>*) =
    &Tangle::Service::stream_;

static_assert(std::is_move_constructible_v<::sockrpc::ClientReader<Reading>>);
static_assert(std::is_base_of_v<::sockrpc::Service, Meter::Service>);
static_assert(std::is_base_of_v<::sockrpc::Service, Tangle::Service>);

// ---- The server side, in process ----

// FakeServerStream serves the requests it was given and keeps the replies
// written to it, as the runtime's stream would over a connection.
class FakeServerStream final : public ::sockrpc::ServerStream {
 public:
  explicit FakeServerStream(std::vector<std::string> requests = {})
      : requests_(requests.begin(), requests.end()) {}

  bool Read(google::protobuf::MessageLite* message) override {
    if (requests_.empty()) return false;
    const bool parsed = message->ParseFromString(requests_.front());
    requests_.pop_front();
    return parsed;
  }
  using ServerStream::Write;
  bool Write(const google::protobuf::MessageLite& message,
             WriteOptions /*options*/) override {
    replies.push_back(message.SerializeAsString());
    return true;
  }
  bool SendInitialMetadata() override {
    ++initial_metadata_sent;
    return true;
  }

  std::vector<std::string> replies;  // serialized, in order
  int initial_metadata_sent = 0;

 private:
  std::deque<std::string> requests_;  // serialized, not yet read
};

std::vector<std::pair<std::string, RpcKind>> MethodKinds(
    const ::sockrpc::Service& service) {
  std::vector<std::pair<std::string, RpcKind>> kinds;
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    kinds.emplace_back(method.full_name, method.kind);
  }
  return kinds;
}

// Runs the streaming method `full_name` of `service` over `stream`, as the
// Server would.
absl::Status RunStream(::sockrpc::Service& service,
                       absl::string_view full_name, FakeServerStream* stream) {
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    if (method.full_name != full_name) continue;
    ServerContext context;
    return method.handler->RunStream(&context, stream);
  }
  ADD_FAILURE() << "no method " << full_name << " in " << service.name();
  return absl::UnknownError("no such method");
}

template <typename Message>
std::vector<Message> Parsed(const std::vector<std::string>& serialized) {
  std::vector<Message> messages(serialized.size());
  for (size_t i = 0; i < serialized.size(); ++i) {
    EXPECT_TRUE(messages[i].ParseFromString(serialized[i]));
  }
  return messages;
}

WatchRequest WatchOf(absl::string_view sensor, int count) {
  WatchRequest request;
  request.set_sensor(std::string(sensor));
  request.set_count(count);
  return request;
}

Reading ReadingOf(absl::string_view sensor, double value) {
  Reading reading;
  reading.set_sensor(std::string(sensor));
  reading.set_value(value);
  return reading;
}

TEST(GeneratedStreamingTest, MethodTableRegistersEachKind) {
  Meter::Service meter;
  EXPECT_THAT(
      MethodKinds(meter),
      ElementsAre(
          Pair("/sockrpc.test.streaming.Meter/Latest", RpcKind::kUnary),
          Pair("/sockrpc.test.streaming.Meter/Watch",
               RpcKind::kServerStreaming),
          Pair("/sockrpc.test.streaming.Meter/Record",
               RpcKind::kClientStreaming),
          Pair("/sockrpc.test.streaming.Meter/Control",
               RpcKind::kBidiStreaming)));
}

TEST(GeneratedStreamingTest, RenamedMethodsKeepTheirWireNamesAndKinds) {
  Tangle::Service tangle;
  EXPECT_THAT(
      MethodKinds(tangle),
      ElementsAre(
          Pair("/sockrpc.test.streaming.Tangle/reader",
               RpcKind::kClientStreaming),
          Pair("/sockrpc.test.streaming.Tangle/writer",
               RpcKind::kServerStreaming),
          Pair("/sockrpc.test.streaming.Tangle/stream",
               RpcKind::kBidiStreaming),
          Pair("/sockrpc.test.streaming.Tangle/AddBidiStreamingMethod",
               RpcKind::kUnary),
          Pair("/sockrpc.test.streaming.Tangle/Latest", RpcKind::kUnary),
          Pair("/sockrpc.test.streaming.Tangle/AsyncLatest",
               RpcKind::kUnary)));
}

TEST(GeneratedStreamingTest, ServerStreamingNotOverriddenIsUnimplemented) {
  Meter::Service meter;
  FakeServerStream stream({WatchOf("t1", 3).SerializeAsString()});
  absl::Status status =
      RunStream(meter, "/sockrpc.test.streaming.Meter/Watch", &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Watch is not implemented");
  EXPECT_TRUE(stream.replies.empty());
}

TEST(GeneratedStreamingTest, ClientStreamingNotOverriddenIsUnimplemented) {
  Meter::Service meter;
  FakeServerStream stream({ReadingOf("t1", 1.5).SerializeAsString()});
  absl::Status status =
      RunStream(meter, "/sockrpc.test.streaming.Meter/Record", &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Record is not implemented");
  EXPECT_TRUE(stream.replies.empty()) << "no reply after a failed handler";
}

TEST(GeneratedStreamingTest, BidiStreamingNotOverriddenIsUnimplemented) {
  Meter::Service meter;
  FakeServerStream stream;
  absl::Status status =
      RunStream(meter, "/sockrpc.test.streaming.Meter/Control", &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Control is not implemented");
  EXPECT_TRUE(stream.replies.empty());
}

TEST(GeneratedStreamingTest, RenamedStreamingMethodDefaultIsUnimplemented) {
  Tangle::Service tangle;
  FakeServerStream stream;
  absl::Status status =
      RunStream(tangle, "/sockrpc.test.streaming.Tangle/stream", &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Tangle/stream is not implemented");
}

// An implementation overriding every streaming kind.
class FakeMeter final : public Meter::Service {
 public:
  absl::Status Watch(ServerContext* context, const WatchRequest& request,
                     ::sockrpc::ServerWriter<Reading>* writer) override {
    for (int i = 0; i < request.count(); ++i) {
      if (!writer->Write(ReadingOf(request.sensor(), i))) break;
    }
    return absl::OkStatus();
  }

  absl::Status Record(ServerContext* context,
                      ::sockrpc::ServerReader<Reading>* reader,
                      Summary* reply) override {
    Reading reading;
    while (reader->Read(&reading)) {
      reply->set_count(reply->count() + 1);
      reply->set_total(reply->total() + reading.value());
    }
    return absl::OkStatus();
  }

  absl::Status Control(
      ServerContext* context,
      ::sockrpc::ServerReaderWriter<Reading, Command>* stream) override {
    stream->SendInitialMetadata();
    Command command;
    while (stream->Read(&command)) {
      if (command.text() == "stop") {
        return absl::AbortedError("stopped by the client");
      }
      stream->Write(ReadingOf(command.text(), 0));
    }
    return absl::OkStatus();
  }
};

TEST(GeneratedStreamingTest, ServerStreamingOverrideWritesEachReply) {
  FakeMeter meter;
  FakeServerStream stream({WatchOf("t2", 3).SerializeAsString()});
  ASSERT_TRUE(
      RunStream(meter, "/sockrpc.test.streaming.Meter/Watch", &stream).ok());
  std::vector<Reading> replies = Parsed<Reading>(stream.replies);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].sensor(), "t2");
  EXPECT_EQ(replies[2].value(), 2);
}

TEST(GeneratedStreamingTest, ClientStreamingOverrideReadsAllAndRepliesOnce) {
  FakeMeter meter;
  FakeServerStream stream({ReadingOf("a", 1.5).SerializeAsString(),
                           ReadingOf("a", 2.5).SerializeAsString()});
  ASSERT_TRUE(
      RunStream(meter, "/sockrpc.test.streaming.Meter/Record", &stream).ok());
  std::vector<Summary> replies = Parsed<Summary>(stream.replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].count(), 2);
  EXPECT_EQ(replies[0].total(), 4.0);
}

TEST(GeneratedStreamingTest, BidiOverrideReadsAndWritesAndItsStatusIsFinal) {
  FakeMeter meter;
  Command first, stop, never;
  first.set_text("fan");
  stop.set_text("stop");
  never.set_text("never read");
  FakeServerStream stream({first.SerializeAsString(), stop.SerializeAsString(),
                           never.SerializeAsString()});
  absl::Status status =
      RunStream(meter, "/sockrpc.test.streaming.Meter/Control", &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stream.initial_metadata_sent, 1);
  std::vector<Reading> replies = Parsed<Reading>(stream.replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].sensor(), "fan");
}

TEST(GeneratedStreamingTest, UnaryMethodBesideStreamingOnesStaysUnary) {
  Meter::Service meter;
  ServerContext context;
  Reading reply;
  absl::Status status = meter.Latest(&context, WatchOf("t3", 1), &reply);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Latest is not implemented");
}

}  // namespace
}  // namespace sockrpc::test::streaming
