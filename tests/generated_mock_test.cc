// The generated mocks (sockrpc_generate(... MOCKS)): code that calls a
// service through Foo::StubInterface is unit-tested with MockFooStub, with
// no server and no socket. The mocks of every test service are compiled
// here, streaming methods and names the generator had to change included.
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sockrpc/test/v1/library_mock.sockrpc.pb.h"
#include "streaming_mock.sockrpc.pb.h"

namespace {

using ::sockrpc::test::streaming::Meter;
using ::sockrpc::test::streaming::MockMeterStub;
using ::sockrpc::test::streaming::MockTangleStub;
using ::sockrpc::test::v1::Book;
using ::sockrpc::test::v1::Catalog;
using ::sockrpc::test::v1::MockCatalogStub;
using ::sockrpc::test::v1::MockShelfStub;
using ::testing::_;
using ::testing::IsNull;
using ::testing::Property;
using ::testing::Return;

static_assert(std::is_base_of_v<Catalog::StubInterface, Catalog::Stub>);
static_assert(std::is_base_of_v<Meter::StubInterface, Meter::Stub>);
static_assert(std::is_base_of_v<Catalog::StubInterface, MockCatalogStub>);
// Every mock can be made: each pure virtual of its interface is mocked.
static_assert(!std::is_abstract_v<MockShelfStub>);
static_assert(!std::is_abstract_v<MockMeterStub>);
static_assert(!std::is_abstract_v<MockTangleStub>);

// Code under test: the line a program prints for the book `isbn`.
std::string DescribeBook(Catalog::StubInterface& catalog,
                         const std::string& isbn) {
  Book::Key key;
  key.set_isbn(isbn);
  absl::StatusOr<Book> book = catalog.GetBook(key);
  if (!book.ok())
    return absl::StrCat("no book ", isbn, ": ", book.status().message());
  return absl::StrCat(book->title(), " (", isbn, ")");
}

TEST(GeneratedMockTest, CodeCallingAStubInterfaceIsTestedWithTheMock) {
  MockCatalogStub catalog;
  Book dune;
  dune.set_title("Dune");
  // The form without a context reaches the mocked one with none.
  EXPECT_CALL(catalog, GetBook(IsNull(), Property(&Book::Key::isbn, "0441")))
      .WillOnce(Return(dune));
  EXPECT_CALL(catalog, GetBook(IsNull(), Property(&Book::Key::isbn, "9999")))
      .WillOnce(Return(absl::NotFoundError("not in the catalog")));

  EXPECT_EQ(DescribeBook(catalog, "0441"), "Dune (0441)");
  EXPECT_EQ(DescribeBook(catalog, "9999"), "no book 9999: not in the catalog");
}

TEST(GeneratedMockTest, TheContextReachesTheMock) {
  MockCatalogStub catalog;
  sockrpc::ClientContext context;
  EXPECT_CALL(catalog, Ping(&context, _))
      .WillOnce(Return(absl::UnavailableError("down")));
  Catalog::StubInterface& stub = catalog;
  EXPECT_EQ(stub.Ping(&context, google::protobuf::Empty()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(GeneratedMockTest, TheFillingFormIsMockedToo) {
  MockCatalogStub catalog;
  EXPECT_CALL(catalog, GetBook(IsNull(), Property(&Book::Key::isbn, "0441"), _))
      .WillOnce([](sockrpc::ClientContext*, const Book::Key&, Book* book) {
        book->set_title("Dune");
        return absl::OkStatus();
      });
  Catalog::StubInterface& stub = catalog;
  Book::Key key;
  key.set_isbn("0441");
  Book book;
  ASSERT_TRUE(stub.GetBook(key, &book).ok());
  EXPECT_EQ(book.title(), "Dune");
}

}  // namespace
