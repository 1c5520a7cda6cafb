// Report: the rows of the benchmark table, printed as text and written as
// JSON. Internal to bench/.
#ifndef SOCKRPC_BENCH_REPORT_H_
#define SOCKRPC_BENCH_REPORT_H_

#include <string>
#include <vector>

namespace sockrpc {
namespace bench {

// Row: one figure of ours beside its raw baseline's and gRPC's.
struct Row {
  std::string name;       // e.g. "unary 64 B unix p50"
  std::string unit;       // "us", "calls/s", "msgs/s", "KiB", "MB"
  double ours = 0;
  double baseline = 0;    // 0: no raw baseline for this row
  std::string baseline_name;  // "raw", "raw pipelined", "" ...
  double grpc = 0;        // the gRPC baseline's figure; 0: none
  // The target, as text ("<= 1.2x raw"), and whether it was met; empty
  // target: none set. Targets are against the raw baseline.
  std::string target;
  bool met = true;

  // ratio: ours / baseline (0 without a baseline).
  double ratio() const { return baseline > 0 ? ours / baseline : 0; }
  // grpc_ratio: ours / gRPC's (0 without a gRPC figure).
  double grpc_ratio() const { return grpc > 0 ? ours / grpc : 0; }
  // WithGrpc: this row with gRPC's figure set.
  Row WithGrpc(double value) const {
    Row row = *this;
    row.grpc = value;
    return row;
  }
};

// Report collects rows in order.
class Report {
 public:
  // grpc_version: the gRPC baseline's version ("1.51.1"); empty when the
  // baseline was not built, and the table has no gRPC columns.
  explicit Report(std::string grpc_version);

  // Add appends a row and prints it at once (a long run shows progress).
  void Add(Row row);
  // Prints the whole table to stdout.
  void PrintTable() const;
  // Writes {"machine": ..., "grpc_version": ..., "rows": [...]} to `path`;
  // false on error.
  bool WriteJson(const std::string& path, const std::string& machine) const;

 private:
  void PrintHeader() const;
  void PrintRow(const Row& row) const;

  std::string grpc_version_;
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
// A row with an absolute target: met when ours <= `limit`; `target` is its
// text ("<= 8"). The baseline, if any, is for reference only.
Row Within(std::string name, std::string unit, double ours, double limit,
           std::string target, double baseline = 0,
           std::string baseline_name = "");
// The same with a floor: met when ours >= `floor` (a rate).
Row Reaching(std::string name, std::string unit, double ours, double floor,
             std::string target, double baseline = 0,
             std::string baseline_name = "");

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_REPORT_H_
