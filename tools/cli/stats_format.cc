#include "tools/cli/stats_format.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace sockrpc {
namespace cli {
namespace {

using stats::v1::CodeCount;
using stats::v1::MethodStats;
using stats::v1::ServerStats;

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// "1.5 KiB", "312 B".
std::string Bytes(uint64_t n) {
  if (n < 1024) return absl::StrCat(n, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(n) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

// "<=64us", "<=2.1s", ">33.6s", "-".
std::string Bound(uint64_t micros) {
  if (micros == 0) return "-";
  if (micros == std::numeric_limits<uint64_t>::max()) return "longer";
  if (micros < 1000) return absl::StrCat("<=", micros, "us");
  if (micros < 1000000) {
    return absl::StrFormat("<=%.1fms", static_cast<double>(micros) / 1e3);
  }
  return absl::StrFormat("<=%.1fs", static_cast<double>(micros) / 1e6);
}

// Whole seconds between two times: "42s", "5m3s", "2h7m", "3d4h".
std::string Span(int64_t from_micros, int64_t to_micros) {
  const int64_t s = std::max<int64_t>(0, to_micros - from_micros) / 1000000;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  if (s < 86400) return absl::StrCat(s / 3600, "h", s % 3600 / 60, "m");
  return absl::StrCat(s / 86400, "d", s % 86400 / 3600, "h");
}

// "998 OK, 2 CANCELLED".
std::string Finished(
    const google::protobuf::RepeatedPtrField<CodeCount>& codes) {
  if (codes.empty()) return "-";
  std::vector<std::string> parts;
  for (const CodeCount& code : codes) {
    parts.push_back(absl::StrCat(code.count(), " ", CodeName(code.code())));
  }
  return absl::StrJoin(parts, ", ");
}

// Left-aligned columns, two spaces apart.
std::string Columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

const MethodStats* FindMethod(const ServerStats& stats,
                              const std::string& name) {
  for (const MethodStats& method : stats.methods()) {
    if (method.method() == name) return &method;
  }
  return nullptr;
}

}  // namespace

uint64_t HistogramQuantileBound(const stats::v1::LatencyHistogram& histogram,
                                double q) {
  uint64_t total = 0;
  for (uint64_t count : histogram.counts()) total += count;
  if (total == 0) return 0;
  const double wanted =
      std::max(1.0, std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (int i = 0; i < histogram.counts_size(); ++i) {
    seen += histogram.counts(i);
    if (static_cast<double>(seen) >= wanted) {
      return i < histogram.upper_bounds_micros_size()
                 ? histogram.upper_bounds_micros(i)
                 : std::numeric_limits<uint64_t>::max();
    }
  }
  return std::numeric_limits<uint64_t>::max();
}

std::string FormatStatsTable(const ServerStats& stats,
                             const TableOptions& options) {
  const auto& totals = stats.connection_totals();
  std::string out = absl::StrCat(
      "up ", Span(stats.start_unix_micros(), stats.now_unix_micros()),
      "   connections: ", totals.open(), " open, ", totals.accepted(),
      " accepted   bytes: ", Bytes(totals.bytes_received()), " in, ",
      Bytes(totals.bytes_sent()), " out\n\n");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"method", "kind", "started"};
  const double interval =
      options.previous == nullptr
          ? 0
          : static_cast<double>(stats.now_unix_micros() -
                                options.previous->now_unix_micros()) /
                1e6;
  if (interval > 0) header.push_back("calls/s");
  for (const char* column : {"in flight", "p50", "p99", "mean", "finished"}) {
    header.push_back(column);
  }
  rows.push_back(header);
  int hidden = 0;
  for (const MethodStats& method : stats.methods()) {
    if (method.started() == 0 && !options.all_methods) {
      ++hidden;
      continue;
    }
    const auto& latency = method.latency();
    std::vector<std::string> row = {method.method(), method.kind(),
                                    absl::StrCat(method.started())};
    if (interval > 0) {
      const MethodStats* before =
          FindMethod(*options.previous, method.method());
      const uint64_t then = before == nullptr ? 0 : before->started();
      row.push_back(absl::StrFormat(
          "%.0f", static_cast<double>(method.started() -
                                      std::min(then, method.started())) /
                      interval));
    }
    row.push_back(absl::StrCat(method.in_flight()));
    row.push_back(Bound(HistogramQuantileBound(latency, 0.5)));
    row.push_back(Bound(HistogramQuantileBound(latency, 0.99)));
    row.push_back(
        latency.count() == 0
            ? "-"
            : absl::StrCat(latency.sum_micros() / latency.count(), "us"));
    row.push_back(Finished(method.finished()));
    rows.push_back(row);
  }
  out += Columns(rows);
  if (rows.size() == 1) out += "(no call yet)\n";
  if (hidden > 0) {
    absl::StrAppend(&out, "(", hidden,
                    " more methods have had no call; --all lists them)\n");
  }
  if (!stats.refused().empty()) {
    absl::StrAppend(&out, "\nrefused before reaching a method: ",
                    Finished(stats.refused()), "\n");
  }
  if (!stats.connections().empty()) {
    std::vector<std::vector<std::string>> connections = {
        {"connection", "peer", "pid", "uid", "gid", "connected", "in", "out",
         "calls"}};
    for (const auto& connection : stats.connections()) {
      const bool has = connection.has_credentials();
      const auto& credentials = connection.credentials();
      connections.push_back(
          {absl::StrCat(connection.id()), connection.peer(),
           has ? absl::StrCat(credentials.pid()) : "-",
           has ? absl::StrCat(credentials.uid()) : "-",
           has ? absl::StrCat(credentials.gid()) : "-",
           Span(connection.connected_unix_micros(), stats.now_unix_micros()) +
               " ago",
           Bytes(connection.bytes_received()), Bytes(connection.bytes_sent()),
           absl::StrCat(connection.calls_in_flight())});
    }
    out += "\n" + Columns(connections);
  }
  if (static_cast<uint64_t>(stats.connections_size()) < totals.open()) {
    absl::StrAppend(&out, stats.connections().empty() ? "\n" : "", "(",
                    totals.open() - stats.connections_size(),
                    " open connections not listed; --connections N lists "
                    "them)\n");
  }
  return out;
}

absl::StatusOr<std::string> FormatStatsJson(const ServerStats& stats) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // a 0 is a number too
  const auto printed =
      google::protobuf::util::MessageToJsonString(stats, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print the stats as JSON: ", printed.ToString()));
  }
  return json + "\n";
}

std::string FormatStatsPrometheus(const ServerStats& stats) {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  std::vector<MetricFamily> families;
  // family() hands out references into `families`: no reallocation.
  families.reserve(16);
  auto family = [&families](const char* name, const char* help,
                            MetricType type) -> MetricFamily& {
    families.push_back(MetricFamily{name, help, type, {}});
    return families.back();
  };
  auto metric = [](MetricFamily& into,
                   std::vector<ClientMetric::Label> labels) -> ClientMetric& {
    into.metric.emplace_back();
    into.metric.back().label = std::move(labels);
    return into.metric.back();
  };

  metric(family("sockrpc_server_start_time_seconds",
                "When the server started, in seconds since the Unix epoch.",
                MetricType::Gauge),
         {})
      .gauge.value = static_cast<double>(stats.start_unix_micros()) / 1e6;

  MetricFamily& started =
      family("sockrpc_server_calls_started_total", "Calls started, by method.",
             MetricType::Counter);
  MetricFamily& in_flight =
      family("sockrpc_server_calls_in_flight",
             "Calls started and not yet ended.", MetricType::Gauge);
  MetricFamily& finished = family(
      "sockrpc_server_calls_finished_total",
      "Calls ended, by method and final status code.", MetricType::Counter);
  MetricFamily& latency =
      family("sockrpc_server_call_duration_seconds",
             "Call durations, from the server's accepting the call to its end.",
             MetricType::Histogram);
  for (const MethodStats& method : stats.methods()) {
    const ClientMetric::Label name{"method", method.method()};
    metric(started, {name}).counter.value =
        static_cast<double>(method.started());
    metric(in_flight, {name}).gauge.value =
        static_cast<double>(method.in_flight());
    for (const CodeCount& code : method.finished()) {
      metric(finished, {name, {"code", CodeName(code.code())}}).counter.value =
          static_cast<double>(code.count());
    }
    ClientMetric::Histogram& histogram = metric(latency, {name}).histogram;
    const auto& counts = method.latency();
    histogram.sample_count = counts.count();
    histogram.sample_sum = static_cast<double>(counts.sum_micros()) / 1e6;
    uint64_t cumulative = 0;
    for (int i = 0; i < counts.counts_size(); ++i) {
      cumulative += counts.counts(i);
      const double bound =
          i < counts.upper_bounds_micros_size()
              ? static_cast<double>(counts.upper_bounds_micros(i)) / 1e6
              : std::numeric_limits<double>::infinity();
      histogram.bucket.push_back({cumulative, bound});
    }
  }

  MetricFamily& refused =
      family("sockrpc_server_calls_refused_total",
             "Calls refused before reaching a method, by status code.",
             MetricType::Counter);
  for (const CodeCount& code : stats.refused()) {
    metric(refused, {{"code", CodeName(code.code())}}).counter.value =
        static_cast<double>(code.count());
  }

  const auto& totals = stats.connection_totals();
  metric(family("sockrpc_server_connections_open", "Connections open now.",
                MetricType::Gauge),
         {})
      .gauge.value = static_cast<double>(totals.open());
  metric(family("sockrpc_server_connections_accepted_total",
                "Connections accepted since the server started.",
                MetricType::Counter),
         {})
      .counter.value = static_cast<double>(totals.accepted());
  metric(family("sockrpc_server_received_bytes_total",
                "Bytes read from every connection.", MetricType::Counter),
         {})
      .counter.value = static_cast<double>(totals.bytes_received());
  metric(family("sockrpc_server_sent_bytes_total",
                "Bytes written to every connection.", MetricType::Counter),
         {})
      .counter.value = static_cast<double>(totals.bytes_sent());

  if (!stats.connections().empty()) {
    MetricFamily& calls =
        family("sockrpc_server_connection_calls_in_flight",
               "Calls in flight on each listed connection, with its peer's "
               "credentials (unix sockets).",
               MetricType::Gauge);
    for (const auto& connection : stats.connections()) {
      std::vector<ClientMetric::Label> labels = {
          {"connection", absl::StrCat(connection.id())},
          {"peer", connection.peer()}};
      if (connection.has_credentials()) {
        labels.push_back({"pid", absl::StrCat(connection.credentials().pid())});
        labels.push_back({"uid", absl::StrCat(connection.credentials().uid())});
        labels.push_back({"gid", absl::StrCat(connection.credentials().gid())});
      }
      metric(calls, std::move(labels)).gauge.value =
          static_cast<double>(connection.calls_in_flight());
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace cli
}  // namespace sockrpc
