// sockrpc bench: calls one method over and over from many threads and
// reports the rate, the latency distribution and the status codes.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/cli/args.h"
#include "tools/cli/bench_report.h"
#include "tools/cli/bench_run.h"
#include "tools/cli/call_setup.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"

namespace sockrpc {
namespace cli {
namespace {

constexpr int kDefaultConcurrency = 50;
constexpr int kMaxConcurrency = 10000;
constexpr uint64_t kDefaultTotal = 200;
constexpr absl::Duration kDefaultDeadline = absl::Seconds(20);

// The bench options as typed on the command line.
struct BenchFlags {
  std::string concurrency;
  std::string connections;
  std::string total;
  std::string duration;
  std::string rps;
  bool json = false;
  std::string format;  // text, json or csv; empty: text (json with --json)
};

// Parses a count from 1 to `max` for `flag`; INVALID_ARGUMENT otherwise.
absl::StatusOr<uint64_t> ParseCount(absl::string_view flag,
                                    const std::string& text, uint64_t max) {
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1 || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " takes a whole number from 1 to ", max, ", got \"", text, "\""));
  }
  return value;
}

// Checks the load flags and fills in the plan's and the setup's shares.
absl::Status ApplyLoadFlags(const BenchFlags& flags, LoadPlan* plan,
                            BenchSetup* setup) {
  uint64_t concurrency = kDefaultConcurrency;
  uint64_t connections = 1;
  if (!flags.concurrency.empty()) {
    absl::StatusOr<uint64_t> parsed =
        ParseCount("--concurrency", flags.concurrency, kMaxConcurrency);
    if (!parsed.ok()) return parsed.status();
    concurrency = *parsed;
  }
  if (!flags.connections.empty()) {
    absl::StatusOr<uint64_t> parsed =
        ParseCount("--connections", flags.connections, kMaxConcurrency);
    if (!parsed.ok()) return parsed.status();
    connections = *parsed;
  }
  if (connections > concurrency) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--connections (", connections, ") exceeds --concurrency (",
        concurrency, "): each connection needs a worker"));
  }
  if (!flags.total.empty()) {
    absl::StatusOr<uint64_t> parsed =
        ParseCount("--total", flags.total, UINT64_MAX / 2);
    if (!parsed.ok()) return parsed.status();
    plan->total = *parsed;
  }
  if (!flags.duration.empty()) {
    absl::Duration duration;
    if (!absl::ParseDuration(flags.duration, &duration) ||
        duration <= absl::ZeroDuration() ||
        duration == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--duration takes a positive duration such as 10s or 1m30s, got \"",
          flags.duration, "\""));
    }
    plan->duration = duration;
  }
  if (!flags.rps.empty()) {
    absl::StatusOr<uint64_t> parsed =
        ParseCount("--rps", flags.rps, 1000 * 1000 * 1000);
    if (!parsed.ok()) return parsed.status();
    plan->rps = *parsed;
  }
  if (!plan->total.has_value() && !plan->duration.has_value()) {
    plan->total = kDefaultTotal;
  }
  plan->concurrency = static_cast<int>(concurrency);
  setup->concurrency = plan->concurrency;
  setup->connections = static_cast<int>(connections);
  setup->total = plan->total;
  setup->duration = plan->duration;
  setup->rps = plan->rps;
  return absl::OkStatus();
}

}  // namespace

int RunBench(int argc, char** argv) {
  ArgParser parser(
      "bench", "bench [OPTIONS] ADDR METHOD [REQUEST]",
      "Load-tests METHOD (package.Service/Method) of the server at ADDR: "
      "--concurrency workers, spread over --connections connections, each "
      "makes one call after another with the same request, until --total "
      "calls are made or --duration has passed (whichever comes first; "
      "without either, 200 calls). Then prints the number of calls, the "
      "rate, the average, fastest and slowest call, a latency histogram, "
      "the latency percentiles (p10 to p99.9) and the calls per status code "
      "with the first error message of each, as text, as one JSON object "
      "(--json) or as CSV (--format csv). --rps caps the rate at which "
      "calls start.\n\n"
      "REQUEST is the request in JSON, or - to read it from standard input; "
      "without it, an empty request ({}) is sent. It is converted and "
      "encoded once, and every call sends the same bytes. Unary and "
      "server-streaming "
      "methods can be tested (a server-streaming call lasts until its final "
      "status, and its replies are counted); client- and bidi-streaming "
      "methods cannot.\n\n"
      "Each connection is opened before the run, so that connecting is not "
      "measured (by calling a method no server has, which the server "
      "refuses at once). Calls still in flight when the "
      "run ends by --duration or by Ctrl-C (SIGINT) or SIGTERM are "
      "cancelled and not counted; the report is printed all the same. "
      "Latencies cover every counted call, failed ones included.\n\n"
      "Exit status: 0 once the run is done, even if calls failed (see the "
      "status codes); 1 if it could not run (server unreachable, unknown "
      "method, no schema); 2 for a usage error, a request that is not valid "
      "JSON for the method, or a client- or bidi-streaming method.");
  CommonOptions common;
  AddCommonOptions(&parser, &common, "20s (reflection calls: 10s)");
  BenchFlags flags;
  parser.AddString({"-c", "--concurrency"}, "N",
                   absl::StrCat("how many workers (threads) make calls at "
                                "once, each waiting for its call's end "
                                "before the next; default ",
                                kDefaultConcurrency),
                   &flags.concurrency);
  parser.AddString({"--connections"}, "C",
                   "how many connections the workers share (worker i uses "
                   "connection i mod C); at most --concurrency; default 1",
                   &flags.connections);
  parser.AddString({"-n", "--total"}, "N",
                   absl::StrCat("stop after N calls in all; the default when "
                                "--duration is not given either: ",
                                kDefaultTotal),
                   &flags.total);
  parser.AddString({"-z", "--duration"}, "DURATION",
                   "stop after this long (e.g. 10s, 1m), unless --total "
                   "calls come first; calls in flight then are cancelled and "
                   "not counted",
                   &flags.duration);
  std::string data;
  parser.AddString({"-d", "--data"}, "REQUEST",
                   "the request, as the REQUEST argument (ghz's spelling); "
                   "@ reads it from standard input",
                   &data);
  parser.AddString({"--rps"}, "N",
                   "start at most N calls per second in all, evenly paced "
                   "(call k is due k/N seconds after the start, whichever "
                   "worker makes it); workers that fall behind catch up as "
                   "soon as they are free; default: no limit",
                   &flags.rps);
  parser.AddString({"--format"}, "text|json|csv",
                   "the report's form: text (default); json, one JSON object "
                   "(as --json); csv, a header line and one line of values "
                   "(times in milliseconds)",
                   &flags.format);
  parser.AddBool({"--json"},
                 "print the report as one JSON object (times in "
                 "nanoseconds) instead of text",
                 &flags.json);
  parser.AddNotes(
      "Examples:\n"
      "  sockrpc bench unix:/tmp/s.sock increment.Increment/Increment "
      "'{\"character\":\"A\"}'\n"
      "  sockrpc bench -c 8 --connections 2 --duration 10s --json \\\n"
      "      localhost:50051 increment.Increment/Increment "
      "'{\"character\":\"A\"}'");
  MethodArguments arguments;
  if (std::optional<int> exit_code =
          ParseMethodArguments(parser, argc, argv, &arguments)) {
    return *exit_code;
  }
  std::string format =
      flags.format.empty() ? (flags.json ? "json" : "text") : flags.format;
  if (format != "text" && format != "json" && format != "csv") {
    return parser.UsageError(
        absl::StrCat("--format takes text, json or csv, not \"", format, "\""));
  }
  if (flags.json && format != "json") {
    return parser.UsageError("--json is --format json: give one of them");
  }
  if (std::optional<int> exit_code = TakeDataOption(parser, data, &arguments)) {
    return *exit_code;
  }
  LoadPlan plan;
  BenchSetup setup;
  absl::Status load_flags = ApplyLoadFlags(flags, &plan, &setup);
  if (!load_flags.ok()) return parser.UsageError(load_flags.message());

  MethodTarget target;
  if (std::optional<int> exit_code =
          ResolveMethodTarget(parser, common, arguments, &target)) {
    return *exit_code;
  }
  if (target.method->client_streaming()) {
    return parser.UsageError(absl::StrCat(
        target.method->full_name(), " is ",
        target.method->server_streaming() ? "bidi" : "client",
        "-streaming; bench runs unary and server-streaming methods only"));
  }
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
      ReadSingleRequest(target, arguments.request);
  if (absl::IsInvalidArgument(request.status())) {
    std::fprintf(stderr, "sockrpc bench: request: %s\n",
                 std::string(request.status().message()).c_str());
    return 2;
  }
  if (!request.ok()) return ReportFailure(request.status());
  if (common.deadline.empty()) target.settings.deadline = kDefaultDeadline;
  std::unique_ptr<google::protobuf::Message> reply_type =
      target.schema->NewMessage(target.method->output_type());

  plan.method = target.wire_name;
  plan.server_streaming = target.method->server_streaming();
  if (!(*request)->SerializeToString(&plan.request)) {
    return ReportFailure(absl::InternalError("cannot encode the request"));
  }
  plan.reply_type = reply_type.get();
  plan.settings = &target.settings;
  plan.channels.push_back(target.channel);
  for (int i = 1; i < setup.connections; ++i) {
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        CreateChannel(arguments.address, target.settings.channel_options());
    if (!channel.ok()) return parser.UsageError(channel.status().message());
    plan.channels.push_back(*std::move(channel));
  }
  setup.address = target.channel->target();
  setup.method = absl::StrCat(target.method->service()->full_name(), "/",
                              target.method->name());
  setup.server_streaming = plan.server_streaming;
  setup.deadline = target.settings.deadline;

  absl::Status connected = Connect(plan);
  if (!connected.ok()) return ReportFailure(connected);
  // From here on, Ctrl-C ends the run instead of the process.
  absl::StatusOr<StopSignals> signals = StopSignals::Block();
  if (!signals.ok()) return ReportFailure(signals.status());
  std::fprintf(stderr, "sockrpc bench: running %s; Ctrl-C ends it early\n",
               setup.method.c_str());
  std::fflush(stderr);
  absl::StatusOr<BenchResult> result = RunLoad(plan, *signals);
  if (!result.ok()) return ReportFailure(result.status());
  const std::string report = format == "json" ? FormatJsonReport(setup, *result)
                             : format == "csv"
                                 ? FormatCsvReport(setup, *result)
                                 : FormatTextReport(setup, *result);
  std::fwrite(report.data(), 1, report.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace cli
}  // namespace sockrpc
