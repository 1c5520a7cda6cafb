#include "server/stats_service.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"
#include "server/server_stats.h"

namespace sockrpc {
namespace {

using stats::v1::GetStatsRequest;

// The most connections one reply lists (about 100 bytes each).
constexpr uint32_t kMaxListedConnections = 10000;

const char* KindName(RpcKind kind) {
  switch (kind) {
    case RpcKind::kUnary:
      return "unary";
    case RpcKind::kClientStreaming:
      return "client_streaming";
    case RpcKind::kServerStreaming:
      return "server_streaming";
    case RpcKind::kBidiStreaming:
      return "bidi_streaming";
  }
  return "unknown";
}

void FillCodes(const CodeCounts& counts,
               google::protobuf::RepeatedPtrField<stats::v1::CodeCount>* out) {
  for (int code = 0; code < kStatusCodes; ++code) {
    if (const uint64_t count = counts.Get(code); count > 0) {
      stats::v1::CodeCount* entry = out->Add();
      entry->set_code(code);
      entry->set_count(count);
    }
  }
}

void FillMethod(const MethodStats& method, stats::v1::MethodStats* out) {
  out->set_method(method.method().full_name);
  out->set_kind(KindName(method.method().kind));
  // Ended first, then started: a call counted as ended was counted as
  // started before, so in_flight is never negative but for reordering
  // the clamp covers.
  uint64_t ended = 0;
  stats::v1::LatencyHistogram* latency = out->mutable_latency();
  for (int bucket = 0; bucket < LatencyHistogram::kBuckets; ++bucket) {
    if (bucket < LatencyHistogram::kBounds) {
      latency->add_upper_bounds_micros(
          LatencyHistogram::UpperBoundMicros(bucket));
    }
    const uint64_t count = method.latency().count(bucket);
    latency->add_counts(count);
    ended += count;
  }
  latency->set_count(ended);
  latency->set_sum_micros(method.latency().sum_micros());
  FillCodes(method.finished(), out->mutable_finished());
  const uint64_t started = method.started();
  out->set_started(started);
  out->set_in_flight(started > ended ? started - ended : 0);
}

void FillConnection(const ConnectionSnapshot& connection,
                    stats::v1::Connection* out) {
  out->set_id(connection.id);
  out->set_peer(connection.peer);
  if (connection.credentials.has_value()) {
    stats::v1::PeerCredentials* credentials = out->mutable_credentials();
    credentials->set_pid(static_cast<uint32_t>(connection.credentials->pid));
    credentials->set_uid(connection.credentials->uid);
    credentials->set_gid(connection.credentials->gid);
  }
  out->set_connected_unix_micros(absl::ToUnixMicros(connection.connected_at));
  out->set_bytes_received(connection.bytes_received);
  out->set_bytes_sent(connection.bytes_sent);
  out->set_calls_in_flight(static_cast<uint32_t>(connection.calls_in_flight));
}

}  // namespace

StatsService::StatsService(const ServerRuntime* runtime)
    : runtime_(runtime), own_uid_(::geteuid()) {}

absl::Status StatsService::Admit(const CallbackServerContext& context) const {
  const ServerOptions& options = runtime_->options();
  if (options.stats_allow_any_peer) return absl::OkStatus();
  const std::optional<PeerCredentials>& peer = context.peer_credentials();
  if (!peer.has_value()) {
    return absl::PermissionDeniedError(
        "stats are readable only over a unix socket, by the server's own "
        "user (ServerOptions::stats_allow_any_peer lets anyone in)");
  }
  const auto& allowed = options.stats_allowed_uids;
  if (peer->uid == own_uid_ ||
      std::find(allowed.begin(), allowed.end(), peer->uid) != allowed.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "uid ", peer->uid, " may not read this server's stats (it runs as uid ",
      own_uid_, "; see ServerOptions::stats_allowed_uids)"));
}

ServerUnaryReactor* StatsService::GetStats(CallbackServerContext* context,
                                           const GetStatsRequest* request,
                                           stats::v1::ServerStats* reply) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status admitted = Admit(*context);
  if (admitted.ok()) Fill(*request, reply);
  reactor->Finish(std::move(admitted));
  return reactor;
}

void StatsService::Fill(const GetStatsRequest& request,
                        stats::v1::ServerStats* reply) const {
  const ServerStats* stats = runtime_->stats();
  if (stats == nullptr) return;  // not started: nothing counted yet
  reply->set_start_unix_micros(absl::ToUnixMicros(stats->start_time()));
  reply->set_now_unix_micros(absl::ToUnixMicros(absl::Now()));
  for (const auto& method : stats->methods()) {
    FillMethod(*method, reply->add_methods());
  }
  const ConnectionsSnapshot connections = runtime_->SnapshotConnections(
      std::min(request.connection_limit(), kMaxListedConnections));
  stats::v1::ConnectionTotals* totals = reply->mutable_connection_totals();
  totals->set_open(connections.open);
  totals->set_accepted(stats->accepted());
  totals->set_bytes_received(stats->closed_bytes_received() +
                             connections.bytes_received);
  totals->set_bytes_sent(stats->closed_bytes_sent() + connections.bytes_sent);
  for (const ConnectionSnapshot& connection : connections.listed) {
    FillConnection(connection, reply->add_connections());
  }
  FillCodes(stats->refused(), reply->mutable_refused());
}

}  // namespace sockrpc
