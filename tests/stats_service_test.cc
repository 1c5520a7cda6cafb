// Tests of the live stats (server/server_stats.h, server/stats_service.h),
// in one process: a Server serving the interop service over a unix socket
// (and TCP loopback), its numbers read through the generated Stats stub
// while calls of every outcome run, and who may read them.
#include "server/stats_service.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/server.h"
#include "server/server_stats.h"
#include "sockrpc/stats.sockrpc.pb.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/local_server.h"

namespace sockrpc {
namespace {

namespace sv1 = ::sockrpc::stats::v1;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::InteropService;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryRequest;
using ::testing::HasSubstr;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);
constexpr char kUnary[] = "/sockrpc.interop.InteropTest/UnaryCall";
constexpr char kDuplex[] = "/sockrpc.interop.InteropTest/FullDuplexCall";

// A method's entry in `stats` (a failure, and an empty one, if absent).
sv1::MethodStats MethodOf(const sv1::ServerStats& stats,
                          const std::string& name) {
  for (const sv1::MethodStats& method : stats.methods()) {
    if (method.method() == name) return method;
  }
  ADD_FAILURE() << name << " not in the stats";
  return sv1::MethodStats();
}

// How many calls ended with `code` in `codes` (0 if none is listed).
uint64_t CountOf(
    const google::protobuf::RepeatedPtrField<sv1::CodeCount>& codes,
    absl::StatusCode code) {
  for (const sv1::CodeCount& entry : codes) {
    if (entry.code() == static_cast<int>(code)) return entry.count();
  }
  return 0;
}

ServerOptions StatsOn() {
  ServerOptions options;
  options.enable_stats_service = true;
  return options;
}

class StatsServiceTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = StatsOn()) {
    absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
        testing::LocalServer::Start({&service_}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::shared_ptr<Channel>> channel = server_->NewChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    interop_ = std::make_unique<InteropTest::Stub>(channel_);
    stats_ = std::make_unique<sv1::Stats::Stub>(channel_);
  }

  absl::StatusOr<sv1::ServerStats> GetStats(uint32_t connection_limit = 100) {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    sv1::GetStatsRequest request;
    request.set_connection_limit(connection_limit);
    return stats_->GetStats(&context, request);
  }

  // Reads the stats until `done` holds of them, or fails after
  // kCallTimeout; the last read.
  template <typename Predicate>
  sv1::ServerStats AwaitStats(Predicate done) {
    const absl::Time give_up = absl::Now() + kCallTimeout;
    for (;;) {
      absl::StatusOr<sv1::ServerStats> stats = GetStats();
      if (!stats.ok()) {
        ADD_FAILURE() << stats.status();
        return sv1::ServerStats();
      }
      if (done(*stats)) return *stats;
      if (absl::Now() > give_up) {
        ADD_FAILURE() << "stats never reached the state awaited: "
                      << stats->DebugString();
        return *stats;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  absl::Status Unary(absl::StatusCode code) {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    UnaryRequest request;
    request.set_reply_size(10);
    if (code != absl::StatusCode::kOk) {
      request.mutable_echo_status()->set_code(static_cast<uint32_t>(code));
      request.mutable_echo_status()->set_message("as asked");
    }
    return interop_->UnaryCall(&context, request).status();
  }

  InteropService service_;
  std::unique_ptr<testing::LocalServer> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<InteropTest::Stub> interop_;
  std::unique_ptr<sv1::Stats::Stub> stats_;
};

TEST_F(StatsServiceTest, CountsCallsByMethodAndStatusCode) {
  StartServer();
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Unary(absl::StatusCode::kOk).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Unary(absl::StatusCode::kNotFound).code(),
              absl::StatusCode::kNotFound);
  }
  absl::StatusOr<sv1::ServerStats> stats = GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  const sv1::MethodStats unary = MethodOf(*stats, kUnary);
  EXPECT_EQ(unary.kind(), "unary");
  EXPECT_EQ(unary.started(), 10u);
  EXPECT_EQ(unary.in_flight(), 0u);
  EXPECT_EQ(CountOf(unary.finished(), absl::StatusCode::kOk), 7u);
  EXPECT_EQ(CountOf(unary.finished(), absl::StatusCode::kNotFound), 3u);
  ASSERT_EQ(unary.finished_size(), 2);  // only codes that occurred
  // Every finished call is in the histogram, in buckets whose bounds
  // double.
  const sv1::LatencyHistogram& latency = unary.latency();
  EXPECT_EQ(latency.count(), 10u);
  ASSERT_EQ(latency.counts_size(), latency.upper_bounds_micros_size() + 1);
  uint64_t counted = 0;
  for (uint64_t count : latency.counts()) counted += count;
  EXPECT_EQ(counted, 10u);
  for (int i = 1; i < latency.upper_bounds_micros_size(); ++i) {
    EXPECT_EQ(latency.upper_bounds_micros(i),
              2 * latency.upper_bounds_micros(i - 1));
  }
  EXPECT_GT(latency.sum_micros(), 0u);
  // A method nobody called is listed, with nothing counted.
  const sv1::MethodStats duplex = MethodOf(*stats, kDuplex);
  EXPECT_EQ(duplex.kind(), "bidi_streaming");
  EXPECT_EQ(duplex.started(), 0u);
  EXPECT_EQ(duplex.latency().count(), 0u);
  // The read itself is a call of GetStats, in flight while it answers.
  const sv1::MethodStats get =
      MethodOf(*stats, "/sockrpc.stats.v1.Stats/GetStats");
  EXPECT_EQ(get.started(), 1u);
  EXPECT_EQ(get.in_flight(), 1u);
}

TEST_F(StatsServiceTest, StreamInFlightUntilItEndsAndCancelCountsCancelled) {
  StartServer();
  {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        interop_->FullDuplexCall(&context);
    DuplexRequest request;
    request.set_reply_size(5);
    StreamChunk reply;
    ASSERT_TRUE(stream.Write(request));
    ASSERT_TRUE(stream.Read(&reply));  // the handler runs
    absl::StatusOr<sv1::ServerStats> stats = GetStats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(MethodOf(*stats, kDuplex).in_flight(), 1u);
    ASSERT_TRUE(stream.WritesDone());
    EXPECT_TRUE(stream.Finish().ok());
  }
  sv1::ServerStats ended = AwaitStats([](const sv1::ServerStats& stats) {
    return MethodOf(stats, kDuplex).in_flight() == 0;
  });
  EXPECT_EQ(CountOf(MethodOf(ended, kDuplex).finished(), absl::StatusCode::kOk),
            1u);
  {
    ClientContext context;
    context.set_timeout(kCallTimeout);
    ClientReaderWriter<DuplexRequest, StreamChunk> stream =
        interop_->FullDuplexCall(&context);
    DuplexRequest request;
    StreamChunk reply;
    ASSERT_TRUE(stream.Write(request));
    ASSERT_TRUE(stream.Read(&reply));
    context.TryCancel();
    EXPECT_EQ(stream.Finish().code(), absl::StatusCode::kCancelled);
  }
  sv1::ServerStats cancelled = AwaitStats([](const sv1::ServerStats& stats) {
    return CountOf(MethodOf(stats, kDuplex).finished(),
                   absl::StatusCode::kCancelled) == 1;
  });
  const sv1::MethodStats duplex = MethodOf(cancelled, kDuplex);
  EXPECT_EQ(duplex.started(), 2u);
  EXPECT_EQ(duplex.in_flight(), 0u);
  EXPECT_EQ(duplex.latency().count(), 2u);
}

TEST_F(StatsServiceTest, CallsRefusedBeforeAMethodAreCounted) {
  StartServer();
  ClientContext context;
  context.set_timeout(kCallTimeout);
  // Declared in the .proto, not served: UNIMPLEMENTED from the service;
  // a method no service has: refused before any method.
  EXPECT_EQ(interop_->UnimplementedCall(&context, Nothing()).status().code(),
            absl::StatusCode::kUnimplemented);
  absl::StatusOr<sv1::ServerStats> before = GetStats();
  ASSERT_TRUE(before.ok()) << before.status();
  const uint64_t refused_before =
      CountOf(before->refused(), absl::StatusCode::kUnimplemented);
  // A service the server does not have at all.
  ClientContext unknown_context;
  unknown_context.set_timeout(kCallTimeout);
  Nothing reply;
  absl::Status unknown = channel_->CallUnary(
      &unknown_context, "/no.Such/Method", Nothing(), &reply);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnimplemented) << unknown;
  absl::StatusOr<sv1::ServerStats> after = GetStats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(CountOf(after->refused(), absl::StatusCode::kUnimplemented),
            refused_before + 1);
}

TEST_F(StatsServiceTest, ConnectionsWithCredentialsAndBytes) {
  StartServer();
  ASSERT_TRUE(Unary(absl::StatusCode::kOk).ok());
  absl::StatusOr<sv1::ServerStats> stats = GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->connection_totals().open(), 1u);
  EXPECT_EQ(stats->connection_totals().accepted(), 1u);
  ASSERT_EQ(stats->connections_size(), 1);
  const sv1::Connection& connection = stats->connections(0);
  ASSERT_TRUE(connection.has_credentials());
  EXPECT_EQ(connection.credentials().pid(), static_cast<uint32_t>(getpid()));
  EXPECT_EQ(connection.credentials().uid(), geteuid());
  EXPECT_EQ(connection.calls_in_flight(), 1u);  // this GetStats
  EXPECT_GT(connection.bytes_received(), 0u);
  EXPECT_GT(connection.bytes_sent(), 0u);
  EXPECT_LE(connection.connected_unix_micros(), stats->now_unix_micros());
  EXPECT_GE(connection.connected_unix_micros(), stats->start_unix_micros());
  // Totals hold the open connection's bytes; a second connection adds to
  // them, and its bytes stay counted once it is gone.
  EXPECT_EQ(stats->connection_totals().bytes_received(),
            connection.bytes_received());
  {
    absl::StatusOr<std::shared_ptr<Channel>> other = server_->NewChannel();
    ASSERT_TRUE(other.ok());
    InteropTest::Stub stub(*other);
    ClientContext context;
    context.set_timeout(kCallTimeout);
    UnaryRequest request;
    request.set_body(std::string(10000, 'x'));
    ASSERT_TRUE(stub.UnaryCall(&context, request).ok());
  }
  sv1::ServerStats later = AwaitStats([](const sv1::ServerStats& stats) {
    return stats.connection_totals().open() == 1;
  });
  EXPECT_EQ(later.connection_totals().accepted(), 2u);
  EXPECT_GT(later.connection_totals().bytes_received(),
            later.connections(0).bytes_received() + 10000);
  // connection_limit 0 lists none, the count stays.
  absl::StatusOr<sv1::ServerStats> unlisted = GetStats(0);
  ASSERT_TRUE(unlisted.ok());
  EXPECT_EQ(unlisted->connections_size(), 0);
  EXPECT_EQ(unlisted->connection_totals().open(), 1u);
}

TEST_F(StatsServiceTest, OffByDefault) {
  StartServer(ServerOptions());
  absl::StatusOr<sv1::ServerStats> stats = GetStats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(StatsAccessTest, TcpPeersAreRefusedUnlessAnyPeerMayRead) {
  for (bool any_peer : {false, true}) {
    InteropService service;
    ServerOptions options = StatsOn();
    options.stats_allow_any_peer = any_peer;
    Server server(options);
    ASSERT_TRUE(server.RegisterService(&service).ok());
    absl::StatusOr<std::string> address = server.Listen("ipv4:127.0.0.1:0");
    ASSERT_TRUE(address.ok()) << address.status();
    ASSERT_TRUE(server.Start().ok());
    absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannel(*address);
    ASSERT_TRUE(channel.ok());
    sv1::Stats::Stub stub(*channel);
    ClientContext context;
    context.set_timeout(kCallTimeout);
    absl::StatusOr<sv1::ServerStats> stats =
        stub.GetStats(&context, sv1::GetStatsRequest());
    if (any_peer) {
      EXPECT_TRUE(stats.ok()) << stats.status();
    } else {
      EXPECT_EQ(stats.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_THAT(stats.status().message(), HasSubstr("unix socket"));
    }
    server.Shutdown(absl::Now() + absl::Seconds(5));
  }
}

// A child process of another uid asks: PERMISSION_DENIED, unless that uid
// is in stats_allowed_uids. Needs root (to change uid).
TEST(StatsAccessTest, OtherUsersAreRefusedUnlessListed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run as another uid";
  constexpr uid_t kNobody = 65534;
  for (bool listed : {false, true}) {
    InteropService service;
    ServerOptions options = StatsOn();
    if (listed) options.stats_allowed_uids = {kNobody};
    absl::StatusOr<std::unique_ptr<testing::LocalServer>> server =
        testing::LocalServer::Start({&service}, options);
    ASSERT_TRUE(server.ok()) << server.status();
    const std::string address = (*server)->address();
    // Let the other user reach the socket.
    const std::string path = address.substr(address.find(':') + 1);
    ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(path.substr(0, path.rfind('/')).c_str(), 0777), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The child: only async-signal-safe work until setuid, then a fresh
      // channel; its exit code is the call's status code.
      if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(100);
      absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannel(address);
      if (!channel.ok()) ::_exit(101);
      sv1::Stats::Stub stub(*channel);
      ClientContext context;
      context.set_timeout(kCallTimeout);
      absl::StatusOr<sv1::ServerStats> stats =
          stub.GetStats(&context, sv1::GetStatsRequest());
      ::_exit(static_cast<int>(stats.status().code()));
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(
        WEXITSTATUS(status),
        listed ? 0 : static_cast<int>(absl::StatusCode::kPermissionDenied))
        << (listed ? "listed" : "not listed");
  }
}

TEST(LatencyHistogramTest, BucketsDouble) {
  EXPECT_EQ(LatencyHistogram::BucketOf(0), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(1), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(2), 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(3), 2);
  EXPECT_EQ(LatencyHistogram::BucketOf(4), 2);
  EXPECT_EQ(LatencyHistogram::BucketOf(5), 3);
  EXPECT_EQ(LatencyHistogram::BucketOf(64), 6);
  EXPECT_EQ(LatencyHistogram::BucketOf(65), 7);
  const uint64_t last_bound =
      LatencyHistogram::UpperBoundMicros(LatencyHistogram::kBounds - 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(last_bound),
            LatencyHistogram::kBounds - 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(last_bound + 1),
            LatencyHistogram::kBounds);
  EXPECT_EQ(LatencyHistogram::BucketOf(~uint64_t{0}),
            LatencyHistogram::kBounds);
  LatencyHistogram histogram;
  histogram.Record(3000);                        // 3 us
  histogram.Record(-5000);                       // never negative: 0
  histogram.Record(int64_t{3600} * 1000000000);  // an hour
  EXPECT_EQ(histogram.count(0), 1u);
  EXPECT_EQ(histogram.count(2), 1u);
  EXPECT_EQ(histogram.count(LatencyHistogram::kBounds), 1u);
  EXPECT_EQ(histogram.sum_micros(), 3u + 3600u * 1000000u);
}

}  // namespace
}  // namespace sockrpc
