// Tests of the built-in health service (server/health_service.h), in one
// process: a Server serving the Increment service over a unix socket,
// asked through the generated Health stub, its statuses set through
// Server::health().
#include "server/health_service.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.sockrpc.pb.h"
#include "server/server.h"
#include "sockrpc/health.sockrpc.pb.h"
#include "tests/testing/local_server.h"

namespace sockrpc {
namespace {

namespace hv1 = ::sockrpc::health::v1;
using Status = hv1::HealthCheckResponse;
using ::testing::StartsWith;

// Every wait of these tests is bounded by this deadline on the call.
constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// A service whose handler is never called: health only needs its name.
class IncrementService final : public increment::Increment::Service {};

class HealthServiceTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = ServerOptions()) {
    absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
        testing::LocalServer::Start({&increment_}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    stub_ = std::make_unique<hv1::Health::Stub>(channel_);
  }

  HealthService& health() { return *server_->server().health(); }

  // Check(service): the status's name, or "error: " and the call's
  // error.
  std::string Check(const std::string& service) {
    hv1::HealthCheckRequest request;
    request.set_service(service);
    ClientContext context;
    context.set_timeout(kCallTimeout);
    absl::StatusOr<Status> reply = stub_->Check(&context, request);
    if (!reply.ok()) return absl::StrCat("error: ", reply.status().ToString());
    return Status::ServingStatus_Name(reply->status());
  }

  IncrementService increment_;
  std::unique_ptr<testing::LocalServer> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<hv1::Health::Stub> stub_;
};

// An open Watch call.
class Watch {
 public:
  Watch(hv1::Health::Stub* stub, const std::string& service)
      : reader_(Start(stub, service, &context_)) {}

  // The next status's name, or "" once the stream has ended.
  std::string Next() {
    Status reply;
    if (!reader_.Read(&reply)) return "";
    return Status::ServingStatus_Name(reply.status());
  }
  absl::Status Finish() { return reader_.Finish(); }
  ClientContext& context() { return context_; }

 private:
  static ClientReader<Status> Start(hv1::Health::Stub* stub,
                                    const std::string& service,
                                    ClientContext* context) {
    context->set_timeout(kCallTimeout);
    hv1::HealthCheckRequest request;
    request.set_service(service);
    return stub->Watch(context, request);
  }

  ClientContext context_;  // declared first: the call uses it
  ClientReader<Status> reader_;
};

TEST_F(HealthServiceTest, ServerAndRegisteredServicesServeOnceStarted) {
  StartServer();
  EXPECT_EQ(Check(""), "SERVING");
  EXPECT_EQ(Check("increment.Increment"), "SERVING");
  EXPECT_EQ(Check("sockrpc.health.v1.Health"), "SERVING");
  EXPECT_EQ(Check("sockrpc.reflection.v1.Reflection"), "SERVING");
}

TEST_F(HealthServiceTest, CheckOfAnUnknownServiceIsNotFound) {
  StartServer();
  EXPECT_EQ(Check("no.Such"), "error: NOT_FOUND: unknown service \"no.Such\"");
}

TEST_F(HealthServiceTest, SettersChangeWhatCheckReports) {
  StartServer();
  health().SetServingStatus("increment.Increment", ServingStatus::kNotServing);
  EXPECT_EQ(Check("increment.Increment"), "NOT_SERVING");
  EXPECT_EQ(Check(""), "SERVING");
  health().SetServingStatus("increment.Increment", true);
  EXPECT_EQ(Check("increment.Increment"), "SERVING");
  // A name the application sets becomes known, registered or not.
  health().SetServingStatus("app.Backend", false);
  EXPECT_EQ(Check("app.Backend"), "NOT_SERVING");
  // gRPC's SetServingStatus(bool): every name, the server's included.
  health().SetServingStatus(false);
  EXPECT_EQ(Check(""), "NOT_SERVING");
  EXPECT_EQ(Check("increment.Increment"), "NOT_SERVING");
  health().SetServingStatus(true);
  EXPECT_EQ(Check("app.Backend"), "SERVING");
  health().ClearServingStatus("app.Backend");
  EXPECT_THAT(Check("app.Backend"), StartsWith("error: NOT_FOUND"));
  EXPECT_EQ(health().GetServingStatus("app.Backend"), std::nullopt);
  EXPECT_EQ(health().GetServingStatus(""), ServingStatus::kServing);
}

TEST_F(HealthServiceTest, StatusSetBeforeStartIsKept) {
  // A server still warming up says so before it starts.
  Server server;
  ASSERT_NE(server.health(), nullptr);
  server.health()->SetServingStatus("", ServingStatus::kNotServing);
  ASSERT_TRUE(server.RegisterService(&increment_).ok());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.health()->GetServingStatus(""), ServingStatus::kNotServing);
  EXPECT_EQ(server.health()->GetServingStatus("increment.Increment"),
            ServingStatus::kServing);
  server.Shutdown();
}

TEST_F(HealthServiceTest, DisabledServiceIsUnimplemented) {
  ServerOptions options;
  options.enable_health_service = false;
  StartServer(options);
  EXPECT_EQ(server_->server().health(), nullptr);
  EXPECT_THAT(Check(""), StartsWith("error: UNIMPLEMENTED"));
}

TEST_F(HealthServiceTest, WatchSendsTheStatusThenOnlyItsChanges) {
  StartServer();
  Watch watch(stub_.get(), "increment.Increment");
  EXPECT_EQ(watch.Next(), "SERVING");
  health().SetServingStatus("increment.Increment", false);
  EXPECT_EQ(watch.Next(), "NOT_SERVING");
  // Setting the same status again, or another name, sends nothing.
  health().SetServingStatus("increment.Increment", false);
  health().SetServingStatus("", false);
  health().SetServingStatus("increment.Increment", true);
  EXPECT_EQ(watch.Next(), "SERVING");
  watch.context().TryCancel();
  EXPECT_EQ(watch.Next(), "");
  EXPECT_EQ(watch.Finish().code(), absl::StatusCode::kCancelled);
}

TEST_F(HealthServiceTest, WatchOfAnUnknownServiceWaitsForItToBeKnown) {
  StartServer();
  Watch watch(stub_.get(), "late.Service");
  EXPECT_EQ(watch.Next(), "SERVICE_UNKNOWN");
  health().SetServingStatus("late.Service", true);
  EXPECT_EQ(watch.Next(), "SERVING");
  health().ClearServingStatus("late.Service");
  EXPECT_EQ(watch.Next(), "SERVICE_UNKNOWN");
  watch.context().TryCancel();
}

TEST_F(HealthServiceTest, ShutdownSendsNotServingToWatchersThenEndsThem) {
  StartServer();
  Watch whole(stub_.get(), "");
  Watch service(stub_.get(), "increment.Increment");
  Watch unknown(stub_.get(), "no.Such");
  EXPECT_EQ(whole.Next(), "SERVING");
  EXPECT_EQ(service.Next(), "SERVING");
  EXPECT_EQ(unknown.Next(), "SERVICE_UNKNOWN");

  // Open watches do not hold up a graceful shutdown: they end at once.
  const absl::Time start = absl::Now();
  server_->server().Shutdown(absl::Now() + kCallTimeout);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  for (Watch* watch : {&whole, &service, &unknown}) {
    EXPECT_EQ(watch->Next(), "NOT_SERVING");
    EXPECT_EQ(watch->Next(), "");
    absl::Status status = watch->Finish();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
  // A draining server never reports SERVING again.
  health().SetServingStatus("", true);
  health().SetServingStatus(true);
  EXPECT_EQ(health().GetServingStatus(""), ServingStatus::kNotServing);
  EXPECT_EQ(health().GetServingStatus("increment.Increment"),
            ServingStatus::kNotServing);
}

TEST_F(HealthServiceTest, WatchOfAClientThatStopsReadingIsCoalesced) {
  StartServer();
  Watch watch(stub_.get(), "increment.Increment");
  EXPECT_EQ(watch.Next(), "SERVING");
  // The client reads nothing while the status flips 100,000 times. Each
  // status is 2 bytes of payload: without coalescing the server would
  // queue every one; with it, what it sends is bounded by the stream's
  // flow-control window (64 KiB: 32768 statuses) plus the one waiting.
  constexpr int kFlips = 100000;
  for (int i = 0; i < kFlips; ++i) {
    health().SetServingStatus("increment.Increment", i % 2 == 1);
  }
  health().ClearServingStatus("increment.Increment");  // the last word
  int received = 0;
  std::string previous = "SERVING";
  std::string status;
  while ((status = watch.Next()) != "SERVICE_UNKNOWN") {
    ASSERT_NE(status, "") << watch.Finish();
    ASSERT_NE(status, previous) << "a status sent twice in a row";
    previous = status;
    ++received;
  }
  EXPECT_LE(received, 32768 + 1);
  EXPECT_LT(received, kFlips);
  watch.context().TryCancel();
}

// Setters on several threads while watches come, read and go: every
// watcher ends on the last status set (TSan runs this suite).
TEST(HealthRaceTest, ConcurrentSettersAndWatchersAgreeOnTheLastStatus) {
  IncrementService increment;
  absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
      testing::LocalServer::Start({&increment});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::shared_ptr<Channel>> channel = (*server)->NewChannel();
  ASSERT_TRUE(channel.ok());
  hv1::Health::Stub stub(*channel);
  HealthService& health = *(*server)->server().health();

  constexpr int kWatchers = 8;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < kWatchers; ++i) {
    watches.push_back(std::make_unique<Watch>(&stub, "a"));
    ASSERT_EQ(watches.back()->Next(), "SERVICE_UNKNOWN");
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&health, t] {
      for (int i = 0; i < 2000; ++i) {
        health.SetServingStatus("a", (i + t) % 2 == 0);
        if (i % 500 == 0) health.SetServingStatus((i / 500) % 2 == 0);
      }
    });
  }
  // Watches that open, read one status and cancel meanwhile.
  threads.emplace_back([&stub, &done] {
    while (!done.load()) {
      Watch watch(&stub, "a");
      EXPECT_NE(watch.Next(), "");
      watch.context().TryCancel();
      while (!watch.Next().empty()) {
        // statuses that came before the cancel
      }
      EXPECT_EQ(watch.Finish().code(), absl::StatusCode::kCancelled);
    }
  });
  for (int t = 0; t < 3; ++t) threads[t].join();
  done.store(true);
  threads[3].join();
  health.ClearServingStatus("a");
  for (auto& watch : watches) {
    std::string status;
    std::string previous;
    while ((status = watch->Next()) != "SERVICE_UNKNOWN") {
      ASSERT_NE(status, "") << watch->Finish();
      ASSERT_NE(status, previous);
      previous = status;
    }
    watch->context().TryCancel();
  }
}

}  // namespace
}  // namespace sockrpc
