// Server::ConnectInProcess() with CreateChannelFromConnector(): a channel to
// a server in the same process with no address, as unit tests of handlers
// use it.

#include <unistd.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "server/server.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

// Increments the character and records who called.
class RecordingIncrement final : public increment::Increment::Service {
 public:
  absl::Status Increment(ServerContext* context,
                         const increment::IncrementRequest& request,
                         increment::IncrementReply* reply) override {
    absl::MutexLock lock(&mu_);
    peer_ = context->peer();
    credentials_ = context->peer_credentials();
    reply->set_character(std::string(1, request.character()[0] + 1));
    return absl::OkStatus();
  }

  std::string peer() {
    absl::MutexLock lock(&mu_);
    return peer_;
  }
  std::optional<PeerCredentials> credentials() {
    absl::MutexLock lock(&mu_);
    return credentials_;
  }

 private:
  absl::Mutex mu_;
  std::string peer_;
  std::optional<PeerCredentials> credentials_;
};

std::shared_ptr<Channel> InProcessChannel(Server& server) {
  absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannelFromConnector(
      "in-process",
      [&server](absl::Time) { return server.ConnectInProcess(); });
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

absl::StatusOr<increment::IncrementReply> Call(
    const std::shared_ptr<Channel>& channel, const std::string& character) {
  increment::Increment::Stub stub(channel);
  increment::IncrementRequest request;
  request.set_character(character);
  return stub.Increment(request);
}

TEST(InProcessTest, AServerWithNoAddressServesAnInProcessChannel) {
  RecordingIncrement service;
  Server server;
  ASSERT_TRUE(server.RegisterService(&service).ok());
  ASSERT_TRUE(server.Start().ok());  // no Listen(): nothing bound

  std::shared_ptr<Channel> channel = InProcessChannel(server);
  EXPECT_EQ(channel->target(), "in-process");
  absl::StatusOr<increment::IncrementReply> reply = Call(channel, "A");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");

  // The handler sees an in-process peer with this process's credentials.
  EXPECT_EQ(service.peer(), "in-process");
  ASSERT_TRUE(service.credentials().has_value());
  EXPECT_EQ(service.credentials()->pid, getpid());
  EXPECT_EQ(service.credentials()->uid, getuid());
  server.Shutdown();
}

TEST(InProcessTest, ManyCallsShareOneConnection) {
  RecordingIncrement service;
  Server server;
  ASSERT_TRUE(server.RegisterService(&service).ok());
  ASSERT_TRUE(server.Start().ok());
  int connections = 0;
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannelFromConnector("in-process", [&](absl::Time) {
        ++connections;
        return server.ConnectInProcess();
      });
  ASSERT_TRUE(channel.ok());
  for (char c = 'a'; c < 'z'; ++c) {
    absl::StatusOr<increment::IncrementReply> reply =
        Call(*channel, std::string(1, c));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->character(), std::string(1, c + 1));
  }
  EXPECT_EQ(connections, 1);
  server.Shutdown();
}

TEST(InProcessTest, ServesBesideListeners) {
  RecordingIncrement service;
  Server server;
  ASSERT_TRUE(server.RegisterService(&service).ok());
  ASSERT_TRUE(server.Listen("ipv4:127.0.0.1:0").ok());
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<increment::IncrementReply> reply =
      Call(InProcessChannel(server), "x");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "y");
  server.Shutdown();
}

TEST(InProcessTest, AServerNotRunningRefusesAndTheCallFailsUnavailable) {
  RecordingIncrement service;
  Server server;
  ASSERT_TRUE(server.RegisterService(&service).ok());

  absl::StatusOr<Fd> before = server.ConnectInProcess();
  EXPECT_EQ(before.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(before.status().message(), HasSubstr("not running"));

  std::shared_ptr<Channel> channel = InProcessChannel(server);
  absl::StatusOr<increment::IncrementReply> reply = Call(channel, "A");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("not running"));

  // Started, it serves the same channel: the channel connects again.
  ASSERT_TRUE(server.Start().ok());
  reply = Call(channel, "A");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->character(), "B");

  // Shut down, it refuses again, and the channel's calls fail cleanly.
  server.Shutdown();
  EXPECT_EQ(server.ConnectInProcess().status().code(),
            absl::StatusCode::kFailedPrecondition);
  reply = Call(channel, "A");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
}

TEST(InProcessTest, MaxConnectionsCountsInProcessConnections) {
  RecordingIncrement service;
  ServerOptions options;
  options.max_connections = 1;
  Server server(options);
  ASSERT_TRUE(server.RegisterService(&service).ok());
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<Fd> first = server.ConnectInProcess();
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Fd> second = server.ConnectInProcess();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(second.status().message(), HasSubstr("too many connections"));
  server.Shutdown();
}

TEST(InProcessTest, AnEmptyConnectorIsInvalidArgument) {
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannelFromConnector("nothing", nullptr);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(InProcessTest, AConnectorsErrorFailsTheCallAsUnavailable) {
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannelFromConnector("broken", [](absl::Time) {
        return absl::StatusOr<Fd>(absl::PermissionDeniedError("no way in"));
      });
  ASSERT_TRUE(channel.ok());
  absl::StatusOr<increment::IncrementReply> reply = Call(*channel, "A");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("no way in"));
}

}  // namespace
}  // namespace sockrpc
