// Tests of the built-in reflection service, in one process: a Server with
// generated services (and one written by hand) over a unix socket, asked
// through the generated Reflection stub.
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/channel.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "server/server.h"
#include "server/service.h"
#include "sockrpc/reflection.sockrpc.pb.h"
#include "sockrpc/test/v1/library.sockrpc.pb.h"
#include "tests/testing/local_server.h"

namespace sockrpc {
namespace {

namespace rv1 = ::sockrpc::reflection::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Services whose handlers are never called: reflection only reads their
// method tables.
class IncrementService final : public increment::Increment::Service {};
class CatalogService final : public test::v1::Catalog::Service {};

// A service written without generated code, so with no descriptor.
class HandWrittenService final : public Service {
 public:
  HandWrittenService() : Service("handmade.Echo") {
    AddUnaryMethod("Say", &HandWrittenService::Say);
  }
  absl::Status Say(ServerContext*, const rv1::ListServicesRequest&,
                   rv1::ListServicesRequest*) {
    return absl::OkStatus();
  }
};

class ReflectionServiceTest : public ::testing::Test {
 protected:
  // Starts a server with the test services; reflection as `enabled` says.
  void StartServer(bool enabled) {
    ServerOptions options;
    options.enable_reflection = enabled;
    absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
        testing::LocalServer::Start({&increment_, &catalog_, &hand_written_},
                                    options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok());
    stub_ = std::make_unique<rv1::Reflection::Stub>(*channel);
  }

  absl::StatusOr<rv1::FileContainingSymbolReply> FileOf(
      const std::string& symbol) {
    rv1::FileContainingSymbolRequest request;
    request.set_symbol(symbol);
    return stub_->FileContainingSymbol(request);
  }

  IncrementService increment_;
  CatalogService catalog_;
  HandWrittenService hand_written_;
  std::unique_ptr<testing::LocalServer> server_;
  std::unique_ptr<rv1::Reflection::Stub> stub_;
};

std::vector<std::string> FileNames(
    const rv1::FileContainingSymbolReply& reply) {
  std::vector<std::string> names;
  for (const std::string& bytes : reply.file_descriptor_protos()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

TEST_F(ReflectionServiceTest, ListsEveryServiceItselfIncludedSortedByName) {
  StartServer(/*enabled=*/true);
  absl::StatusOr<rv1::ListServicesReply> reply =
      stub_->ListServices(rv1::ListServicesRequest());
  ASSERT_TRUE(reply.ok()) << reply.status();
  std::vector<std::string> names;
  for (const rv1::ServiceInfo& service : reply->services()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, ElementsAre("handmade.Echo", "increment.Increment",
                                 "sockrpc.health.v1.Health",
                                 "sockrpc.reflection.v1.Reflection",
                                 "sockrpc.test.v1.Catalog"));
}

TEST_F(ReflectionServiceTest, MethodsCarryTypesAndStreamingKinds) {
  StartServer(/*enabled=*/true);
  absl::StatusOr<rv1::ListServicesReply> reply =
      stub_->ListServices(rv1::ListServicesRequest());
  ASSERT_TRUE(reply.ok()) << reply.status();
  const rv1::ServiceInfo& increment = reply->services(1);
  ASSERT_EQ(increment.methods_size(), 1);
  EXPECT_EQ(increment.methods(0).name(), "Increment");
  EXPECT_EQ(increment.methods(0).input_type(), "increment.IncrementRequest");
  EXPECT_EQ(increment.methods(0).output_type(), "increment.IncrementReply");
  EXPECT_FALSE(increment.methods(0).client_streaming());
  EXPECT_FALSE(increment.methods(0).server_streaming());

  // Without a descriptor: names and kinds only.
  const rv1::ServiceInfo& hand_written = reply->services(0);
  ASSERT_EQ(hand_written.methods_size(), 1);
  EXPECT_EQ(hand_written.methods(0).name(), "Say");
  EXPECT_EQ(hand_written.methods(0).input_type(), "");
}

TEST_F(ReflectionServiceTest, FileContainingSymbolSendsDependenciesFirst) {
  StartServer(/*enabled=*/true);
  absl::StatusOr<rv1::FileContainingSymbolReply> reply =
      FileOf("sockrpc.test.v1.Catalog");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(FileNames(*reply), ElementsAre("google/protobuf/empty.proto",
                                             "sockrpc/test/common/paging.proto",
                                             "sockrpc/test/v1/library.proto"));

  // The files build, in the order sent, into a fresh pool.
  google::protobuf::DescriptorPool pool;
  for (const std::string& bytes : reply->file_descriptor_protos()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    ASSERT_NE(pool.BuildFile(file), nullptr) << file.name();
  }
  const google::protobuf::MethodDescriptor* method =
      pool.FindMethodByName("sockrpc.test.v1.Catalog.ListBooks");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(method->input_type()->full_name(),
            "sockrpc.test.common.PageRequest");
}

TEST_F(ReflectionServiceTest, FindsMethodsMessagesAndFields) {
  StartServer(/*enabled=*/true);
  for (const char* symbol :
       {"increment.Increment.Increment", "increment.IncrementRequest",
        "increment.IncrementRequest.character", ".increment.IncrementReply"}) {
    absl::StatusOr<rv1::FileContainingSymbolReply> reply = FileOf(symbol);
    ASSERT_TRUE(reply.ok()) << symbol << ": " << reply.status();
    EXPECT_THAT(FileNames(*reply), ElementsAre("increment.proto")) << symbol;
  }
}

TEST_F(ReflectionServiceTest, UnknownSymbolIsNotFound) {
  StartServer(/*enabled=*/true);
  absl::StatusOr<rv1::FileContainingSymbolReply> reply =
      FileOf("increment.Nope");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reply.status().message(), HasSubstr("increment.Nope"));
}

TEST_F(ReflectionServiceTest, SchemasOfUnservedFilesAreNotHandedOut) {
  StartServer(/*enabled=*/true);
  // Compiled into this binary, but no served service's file imports it.
  ASSERT_NE(
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          "google.protobuf.FileDescriptorProto"),
      nullptr);
  EXPECT_EQ(FileOf("google.protobuf.FileDescriptorProto").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReflectionServiceTest, EmptySymbolIsInvalid) {
  StartServer(/*enabled=*/true);
  EXPECT_EQ(FileOf("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ReflectionServiceTest, TurnedOffMeansUnknownService) {
  StartServer(/*enabled=*/false);
  absl::StatusOr<rv1::ListServicesReply> reply =
      stub_->ListServices(rv1::ListServicesRequest());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace sockrpc
