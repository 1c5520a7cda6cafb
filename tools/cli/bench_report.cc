#include "tools/cli/bench_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli/json_text.h"

namespace sockrpc {
namespace cli {
namespace {

constexpr int kHistogramBars = 10;
constexpr int kBarWidth = 40;  // characters of the longest bar

// "0.812 ms".
std::string Millis(int64_t nanos) {
  return absl::StrFormat("%.3f ms", static_cast<double>(nanos) / 1e6);
}

// "p99.9".
std::string PercentileName(double percent) {
  return absl::StrCat("p", percent);
}

double CallsPerSecond(const BenchResult& result) {
  const double seconds = absl::ToDoubleSeconds(result.elapsed);
  return seconds > 0 ? static_cast<double>(result.statuses.total()) / seconds
                     : 0;
}

// What ended the run, in words.
std::string StopText(const BenchSetup& setup, const BenchResult& result) {
  switch (result.stopped_by) {
    case StopReason::kTotal:
      return absl::StrCat("--total ", setup.total.value_or(0), " reached");
    case StopReason::kDuration:
      return absl::StrCat(
          "--duration ",
          absl::FormatDuration(setup.duration.value_or(absl::ZeroDuration())),
          " passed");
    case StopReason::kSignal:
      return "interrupted (SIGINT or SIGTERM)";
  }
  return "";
}

void AppendHistogram(const LatencyHistogram& latencies, std::string* out) {
  std::vector<LatencyHistogram::Bar> bars = latencies.Bars(kHistogramBars);
  uint64_t largest = 0;
  for (const auto& bar : bars) largest = std::max(largest, bar.count);
  const size_t count_width = absl::StrCat(largest).size();
  for (const auto& bar : bars) {
    const size_t length = static_cast<size_t>(
        (bar.count * kBarWidth + largest - 1) / std::max<uint64_t>(largest, 1));
    absl::StrAppendFormat(out, "  %12s  %*d  |%s\n", Millis(bar.up_to),
                          static_cast<int>(count_width), bar.count,
                          std::string(length, '#'));
  }
}

}  // namespace

std::string FormatTextReport(const BenchSetup& setup,
                             const BenchResult& result) {
  const LatencyHistogram& latencies = result.latencies;
  std::string out = absl::StrCat(
      "Target:   ", setup.method,
      setup.server_streaming ? " (server-streaming)" : " (unary)", " at ",
      setup.address, "\n");
  absl::StrAppend(
      &out, "Load:     ", setup.concurrency,
      setup.concurrency == 1 ? " worker" : " workers", " over ",
      setup.connections,
      setup.connections == 1 ? " connection" : " connections", ", deadline ",
      absl::FormatDuration(setup.deadline), " per call",
      setup.rps.has_value() ? absl::StrCat(", at most ", *setup.rps, " calls/s")
                            : "",
      "\n");
  absl::StrAppend(&out, "Ended:    ", StopText(setup, result), "\n\n");

  absl::StrAppend(&out, "Summary:\n");
  absl::StrAppend(&out, "  Calls:      ", result.statuses.total(), "\n");
  if (setup.server_streaming) {
    absl::StrAppend(&out, "  Replies:    ", result.messages, "\n");
  }
  absl::StrAppendFormat(&out, "  Duration:   %.3f s\n",
                        absl::ToDoubleSeconds(result.elapsed));
  absl::StrAppendFormat(&out, "  Rate:       %.1f calls/s\n",
                        CallsPerSecond(result));
  if (latencies.count() > 0) {
    absl::StrAppend(&out, "  Average:    ", Millis(latencies.mean()), "\n");
    absl::StrAppend(&out, "  Fastest:    ", Millis(latencies.min()), "\n");
    absl::StrAppend(&out, "  Slowest:    ", Millis(latencies.max()), "\n");

    absl::StrAppend(&out, "\nLatency histogram (calls up to each time):\n");
    AppendHistogram(latencies, &out);

    absl::StrAppend(&out, "\nLatency percentiles:\n");
    for (double percent : kReportedPercentiles) {
      absl::StrAppendFormat(&out, "  %-6s %s\n", PercentileName(percent),
                            Millis(latencies.Percentile(percent)));
    }
  }

  absl::StrAppend(&out, "\nStatus codes:\n");
  std::vector<StatusTally::Entry> entries = result.statuses.Entries();
  if (entries.empty()) absl::StrAppend(&out, "  (no calls completed)\n");
  for (const StatusTally::Entry& entry : entries) {
    absl::StrAppendFormat(&out, "  %-20s %10d",
                          absl::StatusCodeToString(entry.code), entry.count);
    if (!entry.first_message.empty()) {
      absl::StrAppend(&out, "   first: ", entry.first_message);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string FormatJsonReport(const BenchSetup& setup,
                             const BenchResult& result) {
  const LatencyHistogram& latencies = result.latencies;
  std::string out = absl::StrCat(
      "{\"address\":", JsonQuote(setup.address),
      ",\"method\":", JsonQuote(setup.method), ",\"kind\":\"",
      setup.server_streaming ? "server-streaming" : "unary",
      "\",\"concurrency\":", setup.concurrency,
      ",\"connections\":", setup.connections);
  if (setup.total.has_value()) absl::StrAppend(&out, ",\"total\":", *setup.total);
  if (setup.duration.has_value()) {
    absl::StrAppend(&out, ",\"durationNs\":",
                    absl::ToInt64Nanoseconds(*setup.duration));
  }
  absl::StrAppend(&out, ",\"deadlineNs\":",
                  absl::ToInt64Nanoseconds(setup.deadline));
  if (setup.rps.has_value()) absl::StrAppend(&out, ",\"rps\":", *setup.rps);

  absl::StrAppend(&out, ",\"stoppedBy\":\"", StopReasonName(result.stopped_by),
                  "\",\"calls\":", result.statuses.total(),
                  ",\"replies\":", result.messages,
                  ",\"elapsedNs\":", absl::ToInt64Nanoseconds(result.elapsed));
  absl::StrAppendFormat(&out, ",\"callsPerSecond\":%.3f",
                        CallsPerSecond(result));
  absl::StrAppend(&out, ",\"latencyNs\":{\"average\":", latencies.mean(),
                  ",\"fastest\":", latencies.min(),
                  ",\"slowest\":", latencies.max(), "}");

  std::vector<std::string> bars;
  for (const auto& bar : latencies.Bars(kHistogramBars)) {
    bars.push_back(absl::StrCat("{\"upToNs\":", bar.up_to,
                                ",\"count\":", bar.count, "}"));
  }
  absl::StrAppend(&out, ",\"histogram\":[", absl::StrJoin(bars, ","), "]");

  std::vector<std::string> percentiles;
  if (latencies.count() > 0) {
    for (double percent : kReportedPercentiles) {
      percentiles.push_back(absl::StrCat("\"", PercentileName(percent),
                                         "\":", latencies.Percentile(percent)));
    }
  }
  absl::StrAppend(&out, ",\"percentilesNs\":{", absl::StrJoin(percentiles, ","),
                  "}");

  std::vector<std::string> codes;
  for (const StatusTally::Entry& entry : result.statuses.Entries()) {
    std::string code =
        absl::StrCat("\"", absl::StatusCodeToString(entry.code),
                     "\":{\"count\":", entry.count);
    if (!entry.first_message.empty()) {
      absl::StrAppend(&code, ",\"firstError\":", JsonQuote(entry.first_message));
    }
    codes.push_back(absl::StrCat(code, "}"));
  }
  absl::StrAppend(&out, ",\"statusCodes\":{", absl::StrJoin(codes, ","), "}}\n");
  return out;
}

std::string FormatCsvReport(const BenchSetup& setup,
                            const BenchResult& result) {
  const LatencyHistogram& latencies = result.latencies;
  std::vector<std::string> names = {
      "method",     "kind",        "concurrency", "connections", "rps",
      "stopped_by", "calls",       "ok",          "errors",      "replies",
      "elapsed_s",  "calls_per_s", "average_ms",  "fastest_ms",  "slowest_ms"};
  for (double percent : kReportedPercentiles) {
    names.push_back(absl::StrCat(PercentileName(percent), "_ms"));
  }
  const auto ms = [](int64_t nanos) {
    return absl::StrFormat("%.3f", static_cast<double>(nanos) / 1e6);
  };
  const uint64_t ok = result.statuses.count(absl::StatusCode::kOk);
  std::vector<std::string> values = {
      setup.method,
      setup.server_streaming ? "server-streaming" : "unary",
      absl::StrCat(setup.concurrency),
      absl::StrCat(setup.connections),
      setup.rps.has_value() ? absl::StrCat(*setup.rps) : "",
      StopReasonName(result.stopped_by),
      absl::StrCat(result.statuses.total()),
      absl::StrCat(ok),
      absl::StrCat(result.statuses.total() - ok),
      absl::StrCat(result.messages),
      absl::StrFormat("%.3f", absl::ToDoubleSeconds(result.elapsed)),
      absl::StrFormat("%.1f", CallsPerSecond(result))};
  const bool any = latencies.count() > 0;
  for (int64_t nanos : {latencies.mean(), latencies.min(), latencies.max()}) {
    values.push_back(any ? ms(nanos) : "");
  }
  for (double percent : kReportedPercentiles) {
    values.push_back(any ? ms(latencies.Percentile(percent)) : "");
  }
  // A method name holds no comma or quote; no field needs quoting.
  return absl::StrCat(absl::StrJoin(names, ","), "\n",
                      absl::StrJoin(values, ","), "\n");
}

}  // namespace cli
}  // namespace sockrpc
