// What the live stats (ServerOptions::enable_stats_service) cost a call:
// the same unary 64 B case against two bench_servers side by side, one
// with stats and one without, in alternating rounds; and, where valgrind
// is installed, the server's instructions per call with and without
// (callgrind), which no scheduler noise blurs. Target: under 3% more
// (docs/PERFORMANCE.md, "Live stats").
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "call_cost.h"
#include "cases.h"
#include "suite.h"

namespace sockrpc {
namespace bench {
namespace {

constexpr double kMaxRatio = 1.03;
// Alternating rounds of each side; each figure is the median of its
// side's rounds.
constexpr int kRounds = 5;
// Calls of the two callgrind runs; the instructions per call are the
// difference of their totals over the difference of their calls, so that
// start-up and the connection's set-up cancel out.
constexpr long kFewCalls = 500;
constexpr long kManyCalls = 2500;
constexpr const char* kValgrind = "/usr/bin/valgrind";

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::vector<std::string> ServerArgv(const Options& options,
                                    const std::string& address, bool stats) {
  std::vector<std::string> argv = {options.bin + "/bench_server", "--listen",
                                   address};
  if (stats) argv.push_back("--stats");
  return argv;
}

// The instructions a bench_server (under callgrind) executed in all, from
// start to exit, serving `calls` unary 64 B calls, less its watchdog's
// (by the clock, not by the call: ReadCallgrindTotals()); nullopt on
// failure.
std::optional<double> ServerInstructions(const Options& options,
                                         const std::string& dir, bool stats,
                                         long calls) {
  const std::string tag = (stats ? "on" : "off") + std::to_string(calls);
  const std::string out = dir + "/callgrind." + tag;
  std::vector<std::string> argv = {
      kValgrind, "--tool=callgrind", "--callgrind-out-file=" + out,
      "--compress-strings=no", "--compress-pos=no"};
  for (const std::string& arg :
       ServerArgv(options, "unix:" + dir + "/cg" + tag + ".sock", stats)) {
    argv.push_back(arg);
  }
  {
    std::unique_ptr<ChildServer> server =
        ChildServer::Start(argv, -1, /*ready_seconds=*/60);
    if (server == nullptr) return std::nullopt;
    CaseSpec spec;
    spec.address = server->addresses()[0];
    if (!RpcUnaryCalls(spec, calls)) return std::nullopt;
  }  // SIGTERM: the server exits, and callgrind writes its totals
  absl::StatusOr<CallgrindTotals> totals = ReadCallgrindTotals(out);
  if (!totals.ok()) {
    std::fprintf(stderr, "bench: %s\n", totals.status().ToString().c_str());
    return std::nullopt;
  }
  return totals->instructions;
}

std::optional<double> InstructionsPerCall(const Options& options,
                                          const std::string& dir, bool stats) {
  std::optional<double> few =
      ServerInstructions(options, dir, stats, kFewCalls);
  std::optional<double> many =
      ServerInstructions(options, dir, stats, kManyCalls);
  if (!few || !many) return std::nullopt;
  return (*many - *few) / static_cast<double>(kManyCalls - kFewCalls);
}

}  // namespace

void StatsCostRows(const Options& options, const std::string& dir,
                   Report* report) {
  std::unique_ptr<ChildServer> off = ChildServer::Start(
      ServerArgv(options, "unix:" + dir + "/stats-off.sock", false));
  std::unique_ptr<ChildServer> on = ChildServer::Start(
      ServerArgv(options, "unix:" + dir + "/stats-on.sock", true));
  if (off == nullptr || on == nullptr) {
    std::fprintf(stderr, "bench: the stats servers did not start\n");
    return;
  }
  std::vector<double> p50[2], cpu[2];
  for (int round = 0; round < kRounds; ++round) {
    for (int side = 0; side < 2; ++side) {
      const ChildServer& server = side == 0 ? *off : *on;
      CaseSpec spec;
      spec.seconds = options.seconds;
      spec.address = server.addresses()[0];
      spec.server = server.pid();
      Result result = RpcUnary(spec);
      if (!result.ok) {
        std::fprintf(stderr, "bench: unary with stats %s failed\n",
                     side == 0 ? "off" : "on");
        return;
      }
      p50[side].push_back(result.p50_us);
      cpu[side].push_back(result.cpu_us_per_call);
    }
  }
  report->Add(AtMost("unary 64 B unix, stats on p50", "us", Median(p50[1]),
                     Median(p50[0]), "stats off", kMaxRatio));
  report->Add(AtMost("unary 64 B unix, stats on CPU/call", "us", Median(cpu[1]),
                     Median(cpu[0]), "stats off", kMaxRatio));
  struct stat valgrind;
  if (::stat(kValgrind, &valgrind) != 0) {
    std::fprintf(stderr,
                 "bench: no valgrind: the instructions-per-call row of the "
                 "stats is left out (apt-get install valgrind)\n");
    return;
  }
  std::optional<double> instructions_off =
      InstructionsPerCall(options, dir, false);
  std::optional<double> instructions_on =
      InstructionsPerCall(options, dir, true);
  if (!instructions_off || !instructions_on) return;
  report->Add(AtMost("server instructions per unary call, stats on", "instr",
                     *instructions_on, *instructions_off, "stats off",
                     kMaxRatio));
}

}  // namespace bench
}  // namespace sockrpc
