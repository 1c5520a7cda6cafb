#include "report.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_format.h"

namespace sockrpc {
namespace bench {
namespace {

std::string Figure(double value) {
  if (value == 0) return "-";
  // Whole numbers (counts) and large figures without decimals.
  if (value >= 1000 || value == static_cast<long long>(value)) {
    return absl::StrFormat("%.0f", value);
  }
  if (value >= 10) return absl::StrFormat("%.1f", value);
  return absl::StrFormat("%.2f", value);
}

std::string Ratio(double ratio) {
  return ratio > 0 ? absl::StrFormat("%.2fx", ratio) : std::string("-");
}

// JSON string escaping for the few characters our names can hold.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Report::Report(std::string grpc_version)
    : grpc_version_(std::move(grpc_version)) {}

void Report::PrintHeader() const {
  std::string grpc_columns =
      grpc_version_.empty()
          ? ""
          : absl::StrFormat(" %12s %7s", "gRPC", "vs gRPC");
  std::printf("%-34s %-8s %12s %12s %-14s %7s%s  %s\n", "case", "unit",
              "sockrpc", "baseline", "(which)", "ratio", grpc_columns.c_str(),
              "target");
}

void Report::PrintRow(const Row& row) const {
  std::string grpc_columns =
      grpc_version_.empty()
          ? ""
          : absl::StrFormat(" %12s %7s", Figure(row.grpc),
                            Ratio(row.grpc_ratio()));
  std::string verdict =
      row.target.empty() ? "" : (row.met ? "ok  " : "MISS") + (" " + row.target);
  // A zero of ours is a figure when the row has a target (a count that
  // must stay 0), else "not measured".
  const std::string ours = row.ours == 0 && !row.target.empty()
                               ? std::string("0")
                               : Figure(row.ours);
  std::printf("%-34s %-8s %12s %12s %-14s %7s%s  %s\n", row.name.c_str(),
              row.unit.c_str(), ours.c_str(),
              Figure(row.baseline).c_str(), row.baseline_name.c_str(),
              Ratio(row.ratio()).c_str(), grpc_columns.c_str(),
              verdict.c_str());
  std::fflush(stdout);
}

void Report::Add(Row row) {
  if (rows_.empty()) PrintHeader();
  PrintRow(row);
  rows_.push_back(std::move(row));
}

void Report::PrintTable() const {
  std::printf("\n");
  PrintHeader();
  for (const Row& row : rows_) PrintRow(row);
}

bool Report::WriteJson(const std::string& path,
                       const std::string& machine) const {
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return false;
  // "grpc_version" is "" when the gRPC baseline was not built; the rows
  // then have no "grpc" figures.
  std::fprintf(out, "{\n  \"machine\": %s,\n  \"grpc_version\": %s,\n",
               Quote(machine).c_str(), Quote(grpc_version_).c_str());
  std::fprintf(out, "  \"rows\": [\n");
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Row& row = rows_[i];
    std::string grpc_fields =
        grpc_version_.empty()
            ? ""
            : absl::StrFormat(", \"grpc\": %.6g, \"grpc_ratio\": %.4g",
                              row.grpc, row.grpc_ratio());
    std::fprintf(out,
                 "    {\"case\": %s, \"unit\": %s, \"sockrpc\": %.6g, "
                 "\"baseline\": %.6g, \"baseline_name\": %s, "
                 "\"ratio\": %.4g%s, \"target\": %s, \"met\": %s}%s\n",
                 Quote(row.name).c_str(), Quote(row.unit).c_str(), row.ours,
                 row.baseline, Quote(row.baseline_name).c_str(), row.ratio(),
                 grpc_fields.c_str(), Quote(row.target).c_str(),
                 row.met ? "true" : "false", i + 1 < rows_.size() ? "," : "");
  }
  std::fprintf(out, "  ]\n}\n");
  return std::fclose(out) == 0;
}

Row Plain(std::string name, std::string unit, double ours, double baseline,
          std::string baseline_name) {
  Row row;
  row.name = std::move(name);
  row.unit = std::move(unit);
  row.ours = ours;
  row.baseline = baseline;
  row.baseline_name = std::move(baseline_name);
  return row;
}

Row AtMost(std::string name, std::string unit, double ours, double baseline,
           std::string baseline_name, double max_ratio) {
  Row row = Plain(std::move(name), std::move(unit), ours, baseline,
                  std::move(baseline_name));
  row.target = absl::StrFormat("<= %gx", max_ratio);
  row.met = baseline > 0 && row.ratio() <= max_ratio;
  return row;
}

Row AtLeast(std::string name, std::string unit, double ours, double baseline,
            std::string baseline_name, double min_ratio) {
  Row row = Plain(std::move(name), std::move(unit), ours, baseline,
                  std::move(baseline_name));
  row.target = absl::StrFormat(">= %.0f%%", min_ratio * 100);
  row.met = baseline > 0 && row.ratio() >= min_ratio;
  return row;
}

Row Within(std::string name, std::string unit, double ours, double limit,
           std::string target, double baseline, std::string baseline_name) {
  Row row = Plain(std::move(name), std::move(unit), ours, baseline,
                  std::move(baseline_name));
  row.target = std::move(target);
  row.met = ours <= limit;
  return row;
}

Row Reaching(std::string name, std::string unit, double ours, double floor,
             std::string target, double baseline, std::string baseline_name) {
  Row row = Within(std::move(name), std::move(unit), ours, floor,
                   std::move(target), baseline, std::move(baseline_name));
  row.met = ours >= floor;
  return row;
}

}  // namespace bench
}  // namespace sockrpc
