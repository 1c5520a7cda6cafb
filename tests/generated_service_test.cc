// Tests of the code protoc-gen-sockrpc generates, on the test services of
// tests/protos/: that it compiles against the runtime headers, names things
// as the .proto does, and serves calls in process through the method table
// the Server dispatches on. End-to-end calls over sockets live with the
// runtime's tests.

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gmock/gmock.h"
#include "google/protobuf/empty.pb.h"
#include "gtest/gtest.h"
#include "no_package.sockrpc.pb.h"
#include "server/method_handler.h"
#include "server/server_context.h"
#include "server/service.h"
#include "sockrpc/test/common/paging.pb.h"
#include "sockrpc/test/common/paging.sockrpc.pb.h"
#include "sockrpc/test/v1/library.sockrpc.pb.h"

namespace sockrpc::test::v1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- The client side's API, checked at compile time ----

// Each method has a form with a ClientContext and one without; nested and
// imported message types are named as protoc names them.
using GetBookWithContext = absl::StatusOr<Book> (Catalog::Stub::*)(
    ::sockrpc::ClientContext*, const Book::Key&);
using GetBookWithoutContext =
    absl::StatusOr<Book> (Catalog::Stub::*)(const Book::Key&);
using LatestImprintWithContext = absl::StatusOr<Book::Edition::Imprint> (
    Catalog::Stub::*)(::sockrpc::ClientContext*, const Book::Key&);
using ListBooksWithContext = absl::StatusOr<ListBooksReply> (Catalog::Stub::*)(
    ::sockrpc::ClientContext*, const ::sockrpc::test::common::PageRequest&);
using PingWithContext = absl::StatusOr<google::protobuf::Empty> (
    Catalog::Stub::*)(::sockrpc::ClientContext*,
                      const google::protobuf::Empty&);
// Keywords and the generated classes' own names gain an underscore.
using DeleteWithContext = absl::StatusOr<google::protobuf::Empty> (
    Shelf::Stub::*)(::sockrpc::ClientContext*, const Book::Key&);
using NewWithoutContext =
    absl::StatusOr<Book::Key> (Shelf::Stub::*)(const Book&);
using EmptyWithoutContext = absl::StatusOr<google::protobuf::Empty> (
    Shelf::Stub::*)(const google::protobuf::Empty&);
using ReturnWithoutContext =
    absl::StatusOr<Book> (Shelf::Stub::*)(const Book::Key&);

[[maybe_unused]] constexpr GetBookWithContext kGetBook =
    &Catalog::Stub::GetBook;
[[maybe_unused]] constexpr GetBookWithoutContext kGetBookShort =
    &Catalog::Stub::GetBook;
[[maybe_unused]] constexpr LatestImprintWithContext kLatestImprint =
    &Catalog::Stub::LatestImprint;
[[maybe_unused]] constexpr ListBooksWithContext kListBooks =
    &Catalog::Stub::ListBooks;
[[maybe_unused]] constexpr PingWithContext kPing = &Catalog::Stub::Ping;
[[maybe_unused]] constexpr DeleteWithContext kDelete = &Shelf::Stub::delete_;
[[maybe_unused]] constexpr NewWithoutContext kNew = &Shelf::Stub::new_;
[[maybe_unused]] constexpr EmptyWithoutContext kStub = &Shelf::Stub::Stub_;
[[maybe_unused]] constexpr EmptyWithoutContext kService =
    &Shelf::Stub::Service_;
[[maybe_unused]] constexpr EmptyWithoutContext kName = &Shelf::Stub::name_;
[[maybe_unused]] constexpr EmptyWithoutContext kRequest =
    &Shelf::Stub::request_;
[[maybe_unused]] constexpr EmptyWithoutContext kAsyncClass =
    &Shelf::Stub::Async_;
[[maybe_unused]] constexpr EmptyWithoutContext kAsyncAccessor =
    &Shelf::Stub::async_;  // the rpc "async"
[[maybe_unused]] constexpr EmptyWithoutContext kReactor =
    &Shelf::Stub::reactor_;
[[maybe_unused]] constexpr EmptyWithoutContext kDone = &Shelf::Stub::done_;
[[maybe_unused]] constexpr ReturnWithoutContext kReturn = &Shelf::Stub::Return;

// Each unary method also has AsyncBar, named after the proto name even when
// the method itself was renamed.
using GetBookAsync = ::sockrpc::UnaryFuture<Book> (Catalog::Stub::*)(
    ::sockrpc::ClientContext*, const Book::Key&);
using NewAsyncWithoutContext =
    ::sockrpc::UnaryFuture<Book::Key> (Shelf::Stub::*)(const Book&);
[[maybe_unused]] constexpr GetBookAsync kGetBookAsync =
    &Catalog::Stub::AsyncGetBook;
[[maybe_unused]] constexpr NewAsyncWithoutContext kNewAsync =
    &Shelf::Stub::Asyncnew;

static_assert(std::is_constructible_v<Catalog::Stub,
                                      std::shared_ptr<::sockrpc::Channel>>);
static_assert(
    !std::is_convertible_v<std::shared_ptr<::sockrpc::Channel>, Catalog::Stub>,
    "the Stub constructor is explicit");
static_assert(!std::is_default_constructible_v<Catalog>,
              "Catalog only holds names");
static_assert(std::is_base_of_v<::sockrpc::Service, Catalog::Service>);
static_assert(std::is_base_of_v<::sockrpc::Service, Shelf::Service>);
static_assert(std::is_base_of_v<::sockrpc::Service, ::Echo::Service>);

// ---- The server side, in process ----

// What a unary handler reported.
struct UnaryOutcome {
  int finish_calls = 0;
  absl::Status status = absl::UnknownError("finish not called");
  bool has_reply = false;
  std::string reply_bytes;
};

std::vector<std::string> MethodNames(const ::sockrpc::Service& service) {
  std::vector<std::string> names;
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    names.push_back(method.full_name);
  }
  return names;
}

// Runs the method named `full_name` of `service` as the Server would, on
// the encoding of `request`.
UnaryOutcome RunMethod(::sockrpc::Service& service,
                       absl::string_view full_name,
                       absl::string_view request_bytes) {
  UnaryOutcome outcome;
  for (const ::sockrpc::Service::Method& method : service.methods()) {
    if (method.full_name != full_name) continue;
    ::sockrpc::ServerContext context;
    absl::Status returned = method.handler->RunUnary(
        &context, request_bytes,
        [](google::protobuf::MessageLite&) { return absl::OkStatus(); },
        [&outcome](const google::protobuf::MessageLite* reply,
                   absl::Status status) {
          ++outcome.finish_calls;
          outcome.status = status;
          outcome.has_reply = reply != nullptr;
          if (reply != nullptr) outcome.reply_bytes = reply->SerializeAsString();
          return status;
        });
    EXPECT_EQ(returned, outcome.status);
    return outcome;
  }
  ADD_FAILURE() << "no method " << full_name << " in " << service.name();
  return outcome;
}

Book::Key KeyOf(absl::string_view isbn) {
  Book::Key key;
  key.set_isbn(std::string(isbn));
  return key;
}

TEST(GeneratedServiceTest, ServiceNamesIncludeThePackage) {
  EXPECT_EQ(absl::string_view(Catalog::kServiceName),
            "sockrpc.test.v1.Catalog");
  EXPECT_EQ(absl::string_view(Shelf::kServiceName), "sockrpc.test.v1.Shelf");
  EXPECT_EQ(absl::string_view(::Echo::kServiceName), "Echo");

  Catalog::Service catalog;
  EXPECT_EQ(catalog.name(), "sockrpc.test.v1.Catalog");
}

TEST(GeneratedServiceTest, MethodTableListsMethodsInProtoOrder) {
  Catalog::Service catalog;
  EXPECT_THAT(MethodNames(catalog),
              ElementsAre("/sockrpc.test.v1.Catalog/GetBook",
                          "/sockrpc.test.v1.Catalog/ListBooks",
                          "/sockrpc.test.v1.Catalog/LatestImprint",
                          "/sockrpc.test.v1.Catalog/Ping"));
  for (const ::sockrpc::Service::Method& method : catalog.methods()) {
    EXPECT_EQ(method.kind, ::sockrpc::RpcKind::kUnary) << method.full_name;
    EXPECT_NE(method.handler, nullptr) << method.full_name;
  }
}

TEST(GeneratedServiceTest, RenamedMethodsKeepTheirWireNames) {
  Shelf::Service shelf;
  EXPECT_THAT(
      MethodNames(shelf),
      ElementsAre(
          "/sockrpc.test.v1.Shelf/new", "/sockrpc.test.v1.Shelf/delete",
          "/sockrpc.test.v1.Shelf/Stub", "/sockrpc.test.v1.Shelf/Service",
          "/sockrpc.test.v1.Shelf/name", "/sockrpc.test.v1.Shelf/request",
          "/sockrpc.test.v1.Shelf/Async", "/sockrpc.test.v1.Shelf/async",
          "/sockrpc.test.v1.Shelf/reactor", "/sockrpc.test.v1.Shelf/done",
          "/sockrpc.test.v1.Shelf/Return"));
}

TEST(GeneratedServiceTest, ServiceWithoutPackageHasShortWireNames) {
  ::Echo::Service echo;
  EXPECT_EQ(echo.name(), "Echo");
  EXPECT_THAT(MethodNames(echo), ElementsAre("/Echo/Say"));
}

TEST(GeneratedServiceTest, MethodNotOverriddenFailsWithUnimplemented) {
  Catalog::Service catalog;
  UnaryOutcome responder =
      RunMethod(catalog, "/sockrpc.test.v1.Catalog/GetBook",
                KeyOf("978-0").SerializeAsString());
  EXPECT_EQ(responder.finish_calls, 1);
  EXPECT_EQ(responder.status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(responder.status.message(),
            "method /sockrpc.test.v1.Catalog/GetBook is not implemented");
  EXPECT_FALSE(responder.has_reply);
}

TEST(GeneratedServiceTest, DefaultHandlerCanBeCalledDirectly) {
  Shelf::Service shelf;
  ::sockrpc::ServerContext context;
  google::protobuf::Empty reply;
  absl::Status status = shelf.delete_(&context, KeyOf("978-1"), &reply);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("/sockrpc.test.v1.Shelf/delete"));
}

// An implementation overriding some methods, including renamed ones.
class FakeLibrary final : public Catalog::Service {
 public:
  absl::Status GetBook(::sockrpc::ServerContext* context,
                       const Book::Key& request, Book* reply) override {
    if (request.isbn() != "978-2") return absl::NotFoundError(request.isbn());
    *reply->mutable_key() = request;
    reply->set_title("The Socket Book");
    return absl::OkStatus();
  }

  absl::Status LatestImprint(::sockrpc::ServerContext* context,
                             const Book::Key& request,
                             Book::Edition::Imprint* reply) override {
    reply->set_publisher("Unix Press");
    reply->set_year(1983);
    return absl::OkStatus();
  }
};

class FakeShelf final : public Shelf::Service {
 public:
  absl::Status delete_(::sockrpc::ServerContext* context,
                       const Book::Key& request,
                       google::protobuf::Empty* reply) override {
    deleted.push_back(request.isbn());
    return absl::OkStatus();
  }

  absl::Status Stub_(::sockrpc::ServerContext* context,
                     const google::protobuf::Empty& request,
                     google::protobuf::Empty* reply) override {
    return absl::FailedPreconditionError("Stub_ called");
  }

  std::vector<std::string> deleted;
};

TEST(GeneratedServiceTest, OverrideServesTheCall) {
  FakeLibrary library;
  UnaryOutcome responder =
      RunMethod(library, "/sockrpc.test.v1.Catalog/GetBook",
                KeyOf("978-2").SerializeAsString());
  ASSERT_EQ(responder.finish_calls, 1);
  ASSERT_TRUE(responder.status.ok()) << responder.status;
  ASSERT_TRUE(responder.has_reply);
  Book book;
  ASSERT_TRUE(book.ParseFromString(responder.reply_bytes));
  EXPECT_EQ(book.key().isbn(), "978-2");
  EXPECT_EQ(book.title(), "The Socket Book");
}

// Fills every field of its reply, and records whether the request and
// reply it was handed looked new (the runtime reuses them between calls).
class RecordingCatalog final : public Catalog::Service {
 public:
  absl::Status GetBook(::sockrpc::ServerContext* context,
                       const Book::Key& request, Book* reply) override {
    requests_seen.push_back(request.isbn());
    replies_started_empty.push_back(reply->ByteSizeLong() == 0 &&
                                    !reply->has_subtitle() &&
                                    !reply->has_key());
    if (request.isbn().empty()) return absl::OkStatus();
    *reply->mutable_key() = request;
    reply->set_title(std::string(request.isbn() == "big" ? 8000 : 10, 't'));
    reply->set_subtitle("a subtitle");
    reply->add_editions()->set_number(2);
    return absl::OkStatus();
  }

  std::vector<std::string> requests_seen;
  std::vector<bool> replies_started_empty;
};

TEST(GeneratedServiceTest, EveryCallGetsAFreshRequestAndReply) {
  RecordingCatalog catalog;
  constexpr absl::string_view kGetBook = "/sockrpc.test.v1.Catalog/GetBook";
  for (const char* isbn : {"978-2", "", "big", "", "978-3", ""}) {
    UnaryOutcome responder =
        RunMethod(catalog, kGetBook, KeyOf(isbn).SerializeAsString());
    ASSERT_TRUE(responder.status.ok()) << responder.status;
    Book book;
    ASSERT_TRUE(book.ParseFromString(responder.reply_bytes));
    if (*isbn == '\0') {
      // Nothing of the previous call's reply is left over.
      EXPECT_EQ(book.ByteSizeLong(), 0u) << book.DebugString();
    } else {
      EXPECT_EQ(book.key().isbn(), isbn);
      EXPECT_EQ(book.editions_size(), 1);
    }
  }
  EXPECT_THAT(catalog.requests_seen,
              ElementsAre("978-2", "", "big", "", "978-3", ""));
  EXPECT_THAT(catalog.replies_started_empty,
              ElementsAre(true, true, true, true, true, true));
}

TEST(GeneratedServiceTest, OverrideErrorReachesTheResponderWithoutReply) {
  FakeLibrary library;
  UnaryOutcome responder =
      RunMethod(library, "/sockrpc.test.v1.Catalog/GetBook",
                KeyOf("missing").SerializeAsString());
  EXPECT_EQ(responder.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(responder.status.message(), "missing");
  EXPECT_FALSE(responder.has_reply);
}

TEST(GeneratedServiceTest, NestedReplyTypeIsServed) {
  FakeLibrary library;
  UnaryOutcome responder =
      RunMethod(library, "/sockrpc.test.v1.Catalog/LatestImprint",
                KeyOf("978-2").SerializeAsString());
  ASSERT_TRUE(responder.status.ok()) << responder.status;
  Book::Edition::Imprint imprint;
  ASSERT_TRUE(imprint.ParseFromString(responder.reply_bytes));
  EXPECT_EQ(imprint.publisher(), "Unix Press");
  EXPECT_EQ(imprint.year(), 1983);
}

TEST(GeneratedServiceTest, OtherMethodsOfAnOverridingServiceStayUnimplemented) {
  FakeLibrary library;
  UnaryOutcome responder =
      RunMethod(library, "/sockrpc.test.v1.Catalog/Ping",
                google::protobuf::Empty().SerializeAsString());
  EXPECT_EQ(responder.status.code(), absl::StatusCode::kUnimplemented);
}

TEST(GeneratedServiceTest, KeywordMethodDispatchesToItsRenamedOverride) {
  FakeShelf shelf;
  UnaryOutcome responder = RunMethod(shelf, "/sockrpc.test.v1.Shelf/delete",
                                      KeyOf("978-3").SerializeAsString());
  ASSERT_TRUE(responder.status.ok()) << responder.status;
  EXPECT_TRUE(responder.has_reply);
  EXPECT_THAT(shelf.deleted, ElementsAre("978-3"));
}

TEST(GeneratedServiceTest, MemberNameMethodDispatchesToItsRenamedOverride) {
  FakeShelf shelf;
  UnaryOutcome responder =
      RunMethod(shelf, "/sockrpc.test.v1.Shelf/Stub",
                google::protobuf::Empty().SerializeAsString());
  EXPECT_EQ(responder.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(responder.status.message(), "Stub_ called");
}

TEST(GeneratedServiceTest, UnparsableRequestFailsWithoutCallingTheHandler) {
  FakeShelf shelf;
  // A field header announcing 100 bytes that are not there.
  UnaryOutcome responder = RunMethod(shelf, "/sockrpc.test.v1.Shelf/delete",
                                      absl::string_view("\x0a\x64", 2));
  EXPECT_EQ(responder.finish_calls, 1);
  EXPECT_EQ(responder.status.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(responder.has_reply);
  EXPECT_TRUE(shelf.deleted.empty());
}

TEST(GeneratedServiceTest, FileWithoutServicesStillGetsItsFiles) {
  // paging.sockrpc.pb.h exists and brings the file's messages.
  ::sockrpc::test::common::PageRequest request;
  request.set_page_size(10);
  EXPECT_EQ(request.page_size(), 10);
}

}  // namespace
}  // namespace sockrpc::test::v1
