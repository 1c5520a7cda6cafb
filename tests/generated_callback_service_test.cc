// Tests of Foo::CallbackService, the server side protoc-gen-sockrpc
// generates for the callback API, on tests/protos/streaming.proto: the two
// forms of each method kind (checked at compile time), the method table the
// Server dispatches on, and each method's handler started in process over a
// fake call, as the runtime would start it. No server runs here: calls over
// sockets live with the runtime's tests.

#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/message_lite.h"
#include "gtest/gtest.h"
#include "server/method_handler.h"
#include "server/server_callback.h"
#include "server/server_context.h"
#include "server/server_stream.h"
#include "server/service.h"
#include "streaming.pb.h"
#include "streaming.sockrpc.pb.h"

namespace sockrpc::test::streaming {
namespace {

using ::sockrpc::CallbackServerContext;
using ::sockrpc::RpcKind;
using ::sockrpc::ServerContext;
using ::testing::ElementsAre;
using ::testing::FieldsAre;

// ---- The two forms of each kind, checked at compile time ----

// Unary: the callback form gets the request and the reply the call sends.
using LatestCallback = ::sockrpc::ServerUnaryReactor* (
    Meter::CallbackService::*)(CallbackServerContext*, const WatchRequest*,
                               Reading*);
using LatestBlocking = absl::Status (Meter::CallbackService::*)(
    ServerContext*, const WatchRequest&, Reading*);
[[maybe_unused]] constexpr LatestCallback kLatestCallback =
    &Meter::CallbackService::Latest;
[[maybe_unused]] constexpr LatestBlocking kLatestBlocking =
    &Meter::CallbackService::Latest;

// Server streaming: the request; replies go out through the reactor.
using WatchCallback = ::sockrpc::ServerWriteReactor<Reading>* (
    Meter::CallbackService::*)(CallbackServerContext*, const WatchRequest*);
using WatchBlocking = absl::Status (Meter::CallbackService::*)(
    ServerContext*, const WatchRequest&, ::sockrpc::ServerWriter<Reading>*);
[[maybe_unused]] constexpr WatchCallback kWatchCallback =
    &Meter::CallbackService::Watch;
[[maybe_unused]] constexpr WatchBlocking kWatchBlocking =
    &Meter::CallbackService::Watch;

// Client streaming: the reply; requests come in through the reactor.
using RecordCallback = ::sockrpc::ServerReadReactor<Reading>* (
    Meter::CallbackService::*)(CallbackServerContext*, Summary*);
using RecordBlocking = absl::Status (Meter::CallbackService::*)(
    ServerContext*, ::sockrpc::ServerReader<Reading>*, Summary*);
[[maybe_unused]] constexpr RecordCallback kRecordCallback =
    &Meter::CallbackService::Record;
[[maybe_unused]] constexpr RecordBlocking kRecordBlocking =
    &Meter::CallbackService::Record;

// Bidi: ServerBidiReactor<Request, Reply>, in the client's order (the
// blocking form's ServerReaderWriter has the reverse).
using ControlCallback = ::sockrpc::ServerBidiReactor<Command, Reading>* (
    Meter::CallbackService::*)(CallbackServerContext*);
using ControlBlocking = absl::Status (Meter::CallbackService::*)(
    ServerContext*, ::sockrpc::ServerReaderWriter<Reading, Command>*);
[[maybe_unused]] constexpr ControlCallback kControlCallback =
    &Meter::CallbackService::Control;
[[maybe_unused]] constexpr ControlBlocking kControlBlocking =
    &Meter::CallbackService::Control;

// Renamed methods are renamed in both forms.
using ReaderCallback = ::sockrpc::ServerReadReactor<Reading>* (
    Tangle::CallbackService::*)(CallbackServerContext*, Summary*);
using ReaderBlocking = absl::Status (Tangle::CallbackService::*)(
    ServerContext*, ::sockrpc::ServerReader<Reading>*, Summary*);
[[maybe_unused]] constexpr ReaderCallback kReaderCallback =
    &Tangle::CallbackService::reader_;
[[maybe_unused]] constexpr ReaderBlocking kReaderBlocking =
    &Tangle::CallbackService::reader_;

static_assert(std::is_base_of_v<::sockrpc::Service, Meter::CallbackService>);
static_assert(std::is_default_constructible_v<Meter::CallbackService>);

// ---- The server side, in process ----

// FakeCallbackCall stands in for the runtime's side of one callback call:
// it holds the context and the request's encoding, and keeps what the
// method's handler gives it.
class FakeCallbackCall final : public ::sockrpc::internal::CallbackCall {
 public:
  explicit FakeCallbackCall(std::string request = "")
      : request_(std::move(request)) {}

  CallbackServerContext* context() override { return &context_; }
  absl::string_view request() const override { return request_; }
  void Keep(
      std::unique_ptr<::sockrpc::internal::CallMessages> messages) override {
    messages_ = std::move(messages);
  }
  ::sockrpc::internal::CallMessages* kept() override { return messages_.get(); }
  absl::Status InterceptRequest(google::protobuf::MessageLite&) override {
    return absl::OkStatus();  // no interceptors
  }

  // The messages, as the runtime gives them back once the call is done.
  std::unique_ptr<::sockrpc::internal::CallMessages> TakeMessages() {
    return std::move(messages_);
  }

  // The reply that Finish() with an OK status would send.
  const google::protobuf::MessageLite* reply() const {
    return messages_ != nullptr ? messages_->reply.get() : nullptr;
  }

 private:
  CallbackServerContext context_;
  std::string request_;
  std::unique_ptr<::sockrpc::internal::CallMessages> messages_;
};

// FakeServerStream serves the requests it was given and keeps the replies
// written to it: the stream a blocking form runs over.
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
  bool SendInitialMetadata() override { return true; }

  std::vector<std::string> replies;  // serialized, in order

 private:
  std::deque<std::string> requests_;  // serialized, not yet read
};

// The handler of the method `full_name` of `service`.
::sockrpc::internal::MethodHandler* HandlerOf(const ::sockrpc::Service& service,
                                    absl::string_view full_name) {
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    if (method.full_name == full_name) return method.handler.get();
  }
  ADD_FAILURE() << "no method " << full_name << " in " << service.name();
  return nullptr;
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

// A unary reactor the test owns; the runtime would bind it and call
// OnDone().
class TestUnaryReactor final : public ::sockrpc::ServerUnaryReactor {
 public:
  void OnDone() override {}
};

// An implementation that overrides the callback form of Latest and the
// blocking form of Record, and leaves Watch and Control alone.
class FakeMeter final : public Meter::CallbackService {
 public:
  // Each override hides the other form of its name; the using-declarations
  // keep both visible (and quiet GCC's -Woverloaded-virtual=2).
  using Meter::CallbackService::Latest;
  using Meter::CallbackService::Record;

  ::sockrpc::ServerUnaryReactor* Latest(CallbackServerContext* context,
                                        const WatchRequest* request,
                                        Reading* reply) override {
    seen_request = request;
    seen_reply = reply;
    reply_was_empty = reply->ByteSizeLong() == 0;
    *reply = ReadingOf(request->sensor(), 21.5);
    reactor.Finish(absl::OkStatus());
    return &reactor;
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

  TestUnaryReactor reactor;
  const WatchRequest* seen_request = nullptr;
  const Reading* seen_reply = nullptr;
  bool reply_was_empty = false;
};

TEST(GeneratedCallbackServiceTest, RegistersEveryMethodAsCallbackOfItsKind) {
  FakeMeter meter;
  EXPECT_EQ(meter.name(), "sockrpc.test.streaming.Meter");
  std::vector<std::tuple<std::string, RpcKind, bool>> methods;
  for (const ::sockrpc::Service::Method& method : meter.methods()) {
    methods.emplace_back(method.full_name, method.kind, method.callback);
  }
  EXPECT_THAT(methods,
              ElementsAre(FieldsAre("/sockrpc.test.streaming.Meter/Latest",
                                    RpcKind::kUnary, true),
                          FieldsAre("/sockrpc.test.streaming.Meter/Watch",
                                    RpcKind::kServerStreaming, true),
                          FieldsAre("/sockrpc.test.streaming.Meter/Record",
                                    RpcKind::kClientStreaming, true),
                          FieldsAre("/sockrpc.test.streaming.Meter/Control",
                                    RpcKind::kBidiStreaming, true)));
}

TEST(GeneratedCallbackServiceTest, RenamedMethodsKeepTheirWireNames) {
  Tangle::CallbackService tangle;
  std::vector<std::string> names;
  for (const ::sockrpc::Service::Method& method : tangle.methods()) {
    EXPECT_TRUE(method.callback) << method.full_name;
    names.push_back(method.full_name);
  }
  EXPECT_THAT(
      names,
      ElementsAre("/sockrpc.test.streaming.Tangle/reader",
                  "/sockrpc.test.streaming.Tangle/writer",
                  "/sockrpc.test.streaming.Tangle/stream",
                  "/sockrpc.test.streaming.Tangle/AddBidiStreamingMethod",
                  "/sockrpc.test.streaming.Tangle/Latest",
                  "/sockrpc.test.streaming.Tangle/AsyncLatest"));
}

TEST(GeneratedCallbackServiceTest, CallbackOverrideGetsRequestAndSentReply) {
  FakeMeter meter;
  FakeCallbackCall call(WatchOf("t1", 1).SerializeAsString());
  ::sockrpc::internal::MethodHandler* handler =
      HandlerOf(meter, "/sockrpc.test.streaming.Meter/Latest");
  ASSERT_NE(handler, nullptr);

  EXPECT_EQ(handler->StartCallback(&call), &meter.reactor);
  ASSERT_NE(meter.seen_request, nullptr);
  EXPECT_EQ(meter.seen_request->sensor(), "t1");
  // The reply the override filled in is the one the call sends.
  EXPECT_EQ(call.reply(), meter.seen_reply);
  Reading sent;
  ASSERT_TRUE(sent.ParseFromString(call.reply()->SerializeAsString()));
  EXPECT_EQ(sent.value(), 21.5);
}

// A unary callback call's messages go back to the method once it is done
// (ReleaseMessages()): the next call gets the same pair, its reply cleared
// and its request parsed anew, with nothing allocated.
TEST(GeneratedCallbackServiceTest, UnaryMessagesComeBackClearedForTheNextCall) {
  FakeMeter meter;
  ::sockrpc::internal::MethodHandler* handler =
      HandlerOf(meter, "/sockrpc.test.streaming.Meter/Latest");
  ASSERT_NE(handler, nullptr);
  FakeCallbackCall first(WatchOf("t1", 1).SerializeAsString());
  ASSERT_EQ(handler->StartCallback(&first), &meter.reactor);
  EXPECT_TRUE(meter.reply_was_empty);
  const Reading* first_reply = meter.seen_reply;
  handler->ReleaseMessages(first.TakeMessages());

  FakeCallbackCall second(WatchOf("t2", 1).SerializeAsString());
  ASSERT_EQ(handler->StartCallback(&second), &meter.reactor);
  EXPECT_EQ(meter.seen_reply, first_reply);
  EXPECT_TRUE(meter.reply_was_empty);
  EXPECT_EQ(meter.seen_request->sensor(), "t2");
}

TEST(GeneratedCallbackServiceTest, MethodsWithoutCallbackOverrideStartNone) {
  FakeMeter meter;
  for (absl::string_view method : {"/sockrpc.test.streaming.Meter/Watch",
                                   "/sockrpc.test.streaming.Meter/Record",
                                   "/sockrpc.test.streaming.Meter/Control"}) {
    FakeCallbackCall call(WatchOf("t2", 1).SerializeAsString());
    ::sockrpc::internal::MethodHandler* handler = HandlerOf(meter, method);
    ASSERT_NE(handler, nullptr);
    EXPECT_EQ(handler->StartCallback(&call), nullptr)
        << method << ": null has the runtime run the blocking form";
  }
}

TEST(GeneratedCallbackServiceTest, BlockingOverrideRunsWhenNoReactorStarts) {
  FakeMeter meter;
  FakeCallbackCall call;
  ::sockrpc::internal::MethodHandler* handler =
      HandlerOf(meter, "/sockrpc.test.streaming.Meter/Record");
  ASSERT_NE(handler, nullptr);
  ASSERT_EQ(handler->StartCallback(&call), nullptr);

  FakeServerStream stream({ReadingOf("a", 1.5).SerializeAsString(),
                           ReadingOf("a", 2.5).SerializeAsString()});
  ASSERT_TRUE(handler->RunBlocking(&call, &stream).ok());
  // The override read every request and filled in the reply the call sends.
  ASSERT_NE(call.reply(), nullptr);
  Summary reply;
  ASSERT_TRUE(reply.ParseFromString(call.reply()->SerializeAsString()));
  EXPECT_EQ(reply.count(), 2);
  EXPECT_EQ(reply.total(), 4.0);
}

TEST(GeneratedCallbackServiceTest,
     StreamingMethodNotOverriddenIsUnimplemented) {
  FakeMeter meter;
  FakeCallbackCall call(WatchOf("t3", 2).SerializeAsString());
  ::sockrpc::internal::MethodHandler* handler =
      HandlerOf(meter, "/sockrpc.test.streaming.Meter/Watch");
  ASSERT_NE(handler, nullptr);
  ASSERT_EQ(handler->StartCallback(&call), nullptr);

  FakeServerStream stream;
  absl::Status status = handler->RunBlocking(&call, &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Watch is not implemented");
  EXPECT_TRUE(stream.replies.empty());
}

TEST(GeneratedCallbackServiceTest, UnaryMethodNotOverriddenIsUnimplemented) {
  Meter::CallbackService meter;
  FakeCallbackCall call(WatchOf("t4", 1).SerializeAsString());
  ::sockrpc::internal::MethodHandler* handler =
      HandlerOf(meter, "/sockrpc.test.streaming.Meter/Latest");
  ASSERT_NE(handler, nullptr);
  ASSERT_EQ(handler->StartCallback(&call), nullptr);

  FakeServerStream stream;
  absl::Status status = handler->RunBlocking(&call, &stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(),
            "method /sockrpc.test.streaming.Meter/Latest is not implemented");
  EXPECT_TRUE(stream.replies.empty()) << "no reply after a failed handler";
}

}  // namespace
}  // namespace sockrpc::test::streaming
