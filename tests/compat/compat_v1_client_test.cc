// Compatibility, old client against new server: a client built from
// tests/compat/v1/catalog.proto calls the real compat_server_v2 binary
// (built from v2/catalog.proto, which added a request field, a reply field
// and a method) over a Unix socket.
//
// docs/EXTENDING.md points here for "adding a field keeps old clients
// working".
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "tests/compat/compat_testing.h"
#include "tests/testing/temp_dir.h"
#include "v1/catalog.sockrpc.pb.h"

namespace {

using ::compat::testing::CatalogServer;
using ::compat::testing::kProcessTimeout;
using ::compat::testing::StartCatalogServer;
using ::compat::testing::StopCatalogServer;
using ::testing::HasSubstr;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// A v2 server on a socket file in a fresh directory, and a v1 stub on it.
class OldClientNewServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CatalogServer> server = StartCatalogServer(
        "compat_server_v2", "unix:" + dir_.File("catalog"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(server_.address);
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = std::make_unique<compat::Catalog::Stub>(*channel);
  }

  // Every test ends by checking that the server shuts down cleanly.
  void TearDown() override {
    if (server_.process != nullptr) {
      EXPECT_TRUE(StopCatalogServer(server_).ok());
    }
  }

  absl::StatusOr<compat::LookupReply> Lookup(const std::string& sku) {
    sockrpc::ClientContext context;
    context.set_timeout(kCallTimeout);
    compat::LookupRequest request;
    request.set_sku(sku);
    return stub_->Lookup(&context, request);
  }

  // Declared first so that it is removed after the server has gone.
  sockrpc::testing::TempDir dir_;
  CatalogServer server_;
  std::unique_ptr<compat::Catalog::Stub> stub_;
};

TEST_F(OldClientNewServerTest, OldMethodAnswersWithTheFieldsTheOldClientKnows) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("chair-1");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->sku(), "chair-1");
  EXPECT_EQ(reply->title(), "Chair");
}

TEST_F(OldClientNewServerTest, NewReplyFieldIsIgnoredByTheOldClient) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("chair-1");
  ASSERT_TRUE(reply.ok()) << reply.status();
  // The v2 server set stock (field 3). The v1 reply type has no such field:
  // protobuf kept it aside as an unknown field and parsing succeeded.
  const google::protobuf::UnknownFieldSet& unknown =
      reply->GetReflection()->GetUnknownFields(*reply);
  ASSERT_EQ(unknown.field_count(), 1);
  EXPECT_EQ(unknown.field(0).number(), 3);
  EXPECT_EQ(unknown.field(0).varint(), 12u);
}

TEST_F(OldClientNewServerTest, NewServerSeesTheNewRequestFieldAtItsDefault) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("table-1");
  ASSERT_TRUE(reply.ok()) << reply.status();
  // The v1 client cannot send locale; the server reads its default, "",
  // and so answers in English.
  absl::StatusOr<std::string> line =
      server_.process->WaitForLine("v2 Lookup sku=\"table-1\"", kProcessTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, HasSubstr(" locale=\"\" "));
  EXPECT_EQ(reply->title(), "Table");
}

TEST_F(OldClientNewServerTest, ServerErrorsReachTheOldClientUnchanged) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("sofa-9");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reply.status().message(), HasSubstr("no sku \"sofa-9\""));
  // The same channel goes on serving.
  reply = Lookup("chair-1");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->title(), "Chair");
}

}  // namespace
