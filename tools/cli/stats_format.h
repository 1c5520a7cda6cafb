// How `sockrpc stats` shows a server's numbers (sockrpc.stats.v1.ServerStats,
// proto/sockrpc/stats.proto): a table for people, JSON (the message's
// proto3 JSON form) for scripts, and the Prometheus text exposition format
// for scrapers. Pure functions of the message, so that tests can check
// them. Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_STATS_FORMAT_H_
#define SOCKRPC_TOOLS_CLI_STATS_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sockrpc/stats.pb.h"

namespace sockrpc {
namespace cli {

struct TableOptions {
  // List methods no call reached too.
  bool all_methods = false;
  // With the previous snapshot (--watch), a rate column: calls started per
  // second since then, by method name.
  const stats::v1::ServerStats* previous = nullptr;
};

// The table: a summary line, one row per method (calls started, in flight,
// finished by status code, latency percentiles from the histogram), the
// calls refused before a method, and the listed connections.
std::string FormatStatsTable(const stats::v1::ServerStats& stats,
                             const TableOptions& options);

// The message as proto3 JSON (lowerCamelCase names, as `sockrpc call` and
// `tap` print messages; 64-bit numbers as strings), every field printed,
// on one line.
absl::StatusOr<std::string> FormatStatsJson(
    const stats::v1::ServerStats& stats);

// The Prometheus text exposition format (version 0.0.4), every metric
// named sockrpc_server_*; durations in seconds, as Prometheus wants.
std::string FormatStatsPrometheus(const stats::v1::ServerStats& stats);

// The upper bound, in microseconds, of the bucket holding the calls at
// quantile `q` (0 < q <= 1) of `histogram`; 0 when it counts none, and
// UINT64_MAX when that bucket is the unbounded last one.
uint64_t HistogramQuantileBound(const stats::v1::LatencyHistogram& histogram,
                                double q);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_STATS_FORMAT_H_
