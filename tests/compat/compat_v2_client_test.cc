// Compatibility, new client against old server: a client built from
// tests/compat/v2/catalog.proto (a new request field, a new reply field, a
// new method) calls the real compat_server_v1 binary, built from
// v1/catalog.proto, over TCP on 127.0.0.1. TCP because the server's
// ServerContext::peer() then names the client's port, which shows whether
// two calls shared one connection.
//
// docs/EXTENDING.md points here for "adding a field or a method keeps old
// servers working".
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/compat/compat_testing.h"
#include "v2/catalog.sockrpc.pb.h"

namespace {

using ::compat::testing::CatalogServer;
using ::compat::testing::FieldOf;
using ::compat::testing::kProcessTimeout;
using ::compat::testing::StartCatalogServer;
using ::compat::testing::StopCatalogServer;
using ::testing::HasSubstr;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// A v1 server on an ephemeral TCP port, and a v2 stub on it.
class NewClientOldServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CatalogServer> server =
        StartCatalogServer("compat_server_v1", "ipv4:127.0.0.1:0");
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

  absl::StatusOr<compat::LookupReply> Lookup(const std::string& sku,
                                             const std::string& locale) {
    sockrpc::ClientContext context;
    context.set_timeout(kCallTimeout);
    compat::LookupRequest request;
    request.set_sku(sku);
    request.set_locale(locale);
    return stub_->Lookup(&context, request);
  }

  absl::StatusOr<compat::DescribeReply> Describe(const std::string& sku) {
    sockrpc::ClientContext context;
    context.set_timeout(kCallTimeout);
    compat::DescribeRequest request;
    request.set_sku(sku);
    return stub_->Describe(&context, request);
  }

  // The server's line for the Lookup of `sku` (the first, if several).
  std::string ServerLineFor(const std::string& sku) {
    absl::StatusOr<std::string> line = server_.process->WaitForLine(
        "v1 Lookup sku=\"" + sku + "\"", kProcessTimeout);
    EXPECT_TRUE(line.ok()) << line.status();
    return line.ok() ? *line : "";
  }

  CatalogServer server_;
  std::unique_ptr<compat::Catalog::Stub> stub_;
};

TEST_F(NewClientOldServerTest, OldMethodWorksAndTheServerIgnoresTheNewField) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("chair-1", "fr");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->sku(), "chair-1");
  // The v1 server knows no locale: it answered in English.
  EXPECT_EQ(reply->title(), "Chair");
  // The locale did reach it, as one field it does not know, and was ignored.
  EXPECT_EQ(FieldOf(ServerLineFor("chair-1"), "unknown_fields"), "1");
}

TEST_F(NewClientOldServerTest, NewReplyFieldIsAtItsDefault) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("table-1", "en");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->title(), "Table");
  EXPECT_EQ(reply->stock(), 0u);  // a v1 server never sets it
}

TEST_F(NewClientOldServerTest, NewRequestFieldAtItsDefaultIsNotSentAtAll) {
  absl::StatusOr<compat::LookupReply> reply = Lookup("chair-1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  // proto3 does not encode a field that holds its default.
  EXPECT_EQ(FieldOf(ServerLineFor("chair-1"), "unknown_fields"), "0");
}

TEST_F(NewClientOldServerTest, NewMethodIsUnimplementedAndTheConnectionStays) {
  absl::StatusOr<compat::LookupReply> before = Lookup("chair-1", "");
  ASSERT_TRUE(before.ok()) << before.status();

  absl::StatusOr<compat::DescribeReply> described = Describe("chair-1");
  EXPECT_EQ(described.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(described.status().message(),
            "unknown method Describe in service compat.Catalog");

  // The next old-method call on the same channel succeeds, and it travels
  // on the same connection: the server sees the same client port.
  absl::StatusOr<compat::LookupReply> after = Lookup("table-1", "");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->title(), "Table");
  const std::string first_peer = FieldOf(ServerLineFor("chair-1"), "peer");
  const std::string second_peer = FieldOf(ServerLineFor("table-1"), "peer");
  EXPECT_THAT(first_peer, HasSubstr("ipv4:127.0.0.1:"));
  EXPECT_EQ(first_peer, second_peer);
}

}  // namespace
