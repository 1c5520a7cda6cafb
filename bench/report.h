// Report: the rows of the benchmark table, printed as text and written as
// JSON. Internal to bench/.
#ifndef SOCKRPC_BENCH_REPORT_H_
#define SOCKRPC_BENCH_REPORT_H_

#include <string>
#include <vector>

namespace sockrpc {
namespace bench {

// Row: one figure of ours beside its baseline's.
struct Row {
  std::string name;       // e.g. "unary 64 B unix p50"
  std::string unit;       // "us", "calls/s", "msgs/s", "KiB", "MB"
  double ours = 0;
  double baseline = 0;    // 0: no baseline for this row
  std::string baseline_name;  // "raw", "raw pipelined", "" ...
  // The target, as text ("<= 1.2x raw"), and whether it was met; empty
  // target: none set.
  std::string target;
  bool met = true;
  // ratio: ours / baseline (0 without a baseline).
  double ratio() const { return baseline > 0 ? ours / baseline : 0; }
};

// Report collects rows in order.
class Report {
 public:
  // Add appends a row and prints it at once (a long run shows progress).
  void Add(Row row);
  // Prints the whole table to stdout.
  void PrintTable() const;
  // Writes {"machine": ..., "rows": [...]} to `path`; false on error.
  bool WriteJson(const std::string& path, const std::string& machine) const;

 private:
  std::vector<Row> rows_;
};

// Plain: a row without a target.
Row Plain(std::string name, std::string unit, double ours,
          double baseline = 0, std::string baseline_name = "");

// Target helpers: a row whose ratio must stay at or under `max_ratio`
// (latency, CPU), or at or over `min_ratio` (throughput).
Row AtMost(std::string name, std::string unit, double ours, double baseline,
           std::string baseline_name, double max_ratio);
Row AtLeast(std::string name, std::string unit, double ours, double baseline,
            std::string baseline_name, double min_ratio);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_REPORT_H_
