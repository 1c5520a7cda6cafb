// The report of a `sockrpc bench` run, as text for people or as one JSON
// object for scripts. Internal to tools/cli.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TOOLS_CLI_BENCH_REPORT_H_
#define SOCKRPC_TOOLS_CLI_BENCH_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "tools/cli/bench_result.h"

namespace sockrpc {
namespace cli {

// BenchSetup: what was run, as the command line asked.
struct BenchSetup {
  std::string address;
  std::string method;  // "package.Service/Method"
  bool server_streaming = false;
  int concurrency = 0;
  int connections = 0;
  std::optional<uint64_t> total;
  std::optional<absl::Duration> duration;
  absl::Duration deadline = absl::InfiniteDuration();  // per call
  std::optional<uint64_t> rps;                         // --rps
};

// The percentiles every report lists.
inline constexpr double kReportedPercentiles[] = {10, 25, 50, 75,  90,
                                                  95, 99, 99.9};

// FormatTextReport: a summary (calls, time, rate, average, fastest,
// slowest), a latency histogram of 10 bars, the percentiles and the calls
// per status code with the first error message of each failing code.
std::string FormatTextReport(const BenchSetup& setup,
                             const BenchResult& result);

// FormatJsonReport: the same as one line of JSON; times in nanoseconds.
std::string FormatJsonReport(const BenchSetup& setup,
                             const BenchResult& result);

// FormatCsvReport: a header line and one line of values: method, kind,
// concurrency, connections, rps (empty without --rps), stopped_by, calls,
// ok, errors, replies, elapsed_s, calls_per_s, average_ms, fastest_ms,
// slowest_ms and the percentiles (p10_ms ... p99.9_ms; empty when no call
// completed).
std::string FormatCsvReport(const BenchSetup& setup, const BenchResult& result);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_BENCH_REPORT_H_
