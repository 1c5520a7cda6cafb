// sockrpc stats: reads a server's live numbers from its stats service
// (proto/sockrpc/stats.proto; a server started with --stats, or with
// ServerOptions::enable_stats_service) and shows them as a table, JSON or
// Prometheus text, once or again and again (--watch).
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "sockrpc/stats_client.sockrpc.pb.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"
#include "tools/cli/probe_setup.h"
#include "tools/cli/stats_format.h"
#include "tools/cli/stop_signals.h"

namespace sockrpc {
namespace cli {
namespace {

namespace stats_v1 = ::sockrpc::stats::v1;

enum class Format { kTable, kJson, kPrometheus };

struct StatsFlags {
  Format format = Format::kTable;
  bool all_methods = false;
  uint32_t connection_limit = 20;
  absl::Duration timeout;
  std::optional<absl::Duration> watch;  // the interval
  Metadata metadata;
};

// One GetStats call; a plain word for a server that serves no stats.
absl::StatusOr<stats_v1::ServerStats> Fetch(stats_v1::Stats::Stub* stub,
                                            const StatsFlags& flags) {
  ClientContext context;
  context.set_timeout(flags.timeout);
  for (const auto& [key, value] : flags.metadata) {
    context.AddMetadata(key, value);
  }
  stats_v1::GetStatsRequest request;
  request.set_connection_limit(flags.connection_limit);
  absl::StatusOr<stats_v1::ServerStats> reply =
      stub->GetStats(&context, request);
  if (reply.status().code() == absl::StatusCode::kUnimplemented) {
    return absl::UnimplementedError(absl::StrCat(
        "the server does not serve its stats (", stats_v1::Stats::kServiceName,
        "); start it with --stats, or set "
        "ServerOptions::enable_stats_service: ",
        reply.status().message()));
  }
  return reply;
}

// Prints one snapshot; false if it could not be formatted.
bool Show(const stats_v1::ServerStats& stats, const StatsFlags& flags,
          const stats_v1::ServerStats* previous, bool clear_screen) {
  std::string text;
  switch (flags.format) {
    case Format::kTable: {
      TableOptions options;
      options.all_methods = flags.all_methods;
      options.previous = previous;
      text = FormatStatsTable(stats, options);
      break;
    }
    case Format::kJson: {
      absl::StatusOr<std::string> json = FormatStatsJson(stats);
      if (!json.ok()) {
        ReportFailure(json.status());
        return false;
      }
      text = *std::move(json);
      break;
    }
    case Format::kPrometheus:
      text = FormatStatsPrometheus(stats);
      break;
  }
  // A terminal is redrawn in place; a pipe gets one snapshot after another
  // (a blank line between tables).
  if (clear_screen) {
    std::fputs("\033[H\033[2J", stdout);
  } else if (previous != nullptr && flags.format == Format::kTable) {
    std::fputs("\n", stdout);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return true;
}

// Shows a snapshot every interval until a stop signal; the first failure
// ends it.
int Watch(stats_v1::Stats::Stub* stub, const StatsFlags& flags,
          const StopSignals& stop) {
  const bool terminal =
      flags.format == Format::kTable && ::isatty(STDOUT_FILENO) == 1;
  std::optional<stats_v1::ServerStats> previous;
  for (;;) {
    absl::StatusOr<stats_v1::ServerStats> stats = Fetch(stub, flags);
    if (!stats.ok()) return ReportFailure(stats.status());
    if (!Show(*stats, flags, previous ? &*previous : nullptr, terminal)) {
      return 1;
    }
    previous = *std::move(stats);
    pollfd stopped{stop.fd(), POLLIN, 0};
    const int wait_ms =
        static_cast<int>(absl::ToInt64Milliseconds(*flags.watch));
    int ready;
    while ((ready = ::poll(&stopped, 1, wait_ms)) < 0) {
    }
    if (ready > 0) return 0;
  }
}

}  // namespace

int RunStats(int argc, char** argv) {
  ArgParser parser(
      "stats", "stats [OPTIONS] ADDR",
      "Shows the live numbers of the server at ADDR, read from its stats "
      "service: per method the calls started, in flight and finished by "
      "status code, and their latency (p50 and p99 are the upper bounds of "
      "the histogram buckets that hold them); the calls refused before "
      "reaching a method; bytes in and out; and the open connections with "
      "their peers' credentials. The server must serve its stats (--stats "
      "on the example servers, ServerOptions::enable_stats_service), and by "
      "default lets only its own user read them, over a unix socket.\n\n"
      "ADDR is a server address: unix:PATH, unix-abstract:NAME, "
      "ipv4:HOST:PORT, ipv6:[HOST]:PORT or HOST:PORT.");
  std::string format_text = "table";
  bool json = false;
  std::string interval_text = "1s";
  std::string connections_text = "20";
  ProbeFlags probe_flags;
  probe_flags.connect_timeout = "2s";
  probe_flags.timeout = "5s";
  StatsFlags flags;
  parser.AddString({"--format"}, "FORMAT",
                   "table (the default), json, or prometheus (the text "
                   "exposition format)",
                   &format_text);
  parser.AddBool({"--json"}, "the same as --format json", &json);
  parser.AddBool({"--watch"},
                 "show the numbers again every --interval until "
                 "interrupted (SIGINT, SIGTERM); a table gains a calls/s "
                 "column",
                 &probe_flags.watch);
  parser.AddString({"--interval"}, "DURATION",
                   "how often --watch refreshes; default: 1s", &interval_text);
  parser.AddBool({"--all"}, "list methods that have had no call too",
                 &flags.all_methods);
  parser.AddString({"--connections"}, "N",
                   "list at most N open connections (0: none; the server "
                   "lists at most 10000); default: 20",
                   &connections_text);
  parser.AddString({"--connect-timeout"}, "DURATION",
                   "give up on reaching the server after this long; "
                   "default: 2s",
                   &probe_flags.connect_timeout);
  parser.AddString({"--timeout"}, "DURATION",
                   "give up on each read of the numbers after this long; "
                   "default: 5s",
                   &probe_flags.timeout);
  AddTlsOptions(&parser, &probe_flags.tls);
  parser.AddList({"-H", "--header"}, "KEY:VALUE",
                 "request metadata to send with the call",
                 &probe_flags.headers);
  parser.AddNotes(
      "Exit codes: 0 shown (with --watch: until interrupted), 1 no numbers "
      "(unreachable, no stats service, PERMISSION_DENIED), 2 usage error.\n"
      "\n"
      "Examples:\n"
      "  sockrpc stats unix:/run/app.sock\n"
      "  sockrpc stats --watch unix:/run/app.sock\n"
      "  sockrpc stats --json unix:/run/app.sock | jq .methods\n"
      "  sockrpc stats --format prometheus unix:/run/app.sock > app.prom");
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  if (args.empty()) return parser.UsageError("missing ADDR");
  if (args.size() > 1) return parser.UsageError("too many arguments");
  if (json) format_text = "json";
  if (format_text == "table") {
    flags.format = Format::kTable;
  } else if (format_text == "json") {
    flags.format = Format::kJson;
  } else if (format_text == "prometheus") {
    flags.format = Format::kPrometheus;
  } else {
    return parser.UsageError(absl::StrCat(
        "--format takes table, json or prometheus, got \"", format_text, "\""));
  }
  if (!absl::SimpleAtoi(connections_text, &flags.connection_limit)) {
    return parser.UsageError(absl::StrCat(
        "--connections takes a number, got \"", connections_text, "\""));
  }
  absl::StatusOr<absl::Duration> interval =
      ParsePositiveDuration("--interval", interval_text);
  if (!interval.ok()) return parser.UsageError(interval.status().message());
  if (probe_flags.watch) flags.watch = *interval;
  Probe probe;
  if (std::optional<int> exit_code =
          SetUpProbe(parser, args[0], probe_flags, &probe)) {
    return *exit_code;
  }
  flags.timeout = probe.timeout;
  flags.metadata = std::move(probe.metadata);
  stats_v1::Stats::Stub stub(probe.channel);
  if (probe_flags.watch) return Watch(&stub, flags, *probe.stop);
  absl::StatusOr<stats_v1::ServerStats> stats = Fetch(&stub, flags);
  if (!stats.ok()) return ReportFailure(stats.status());
  return Show(*stats, flags, nullptr, false) ? 0 : 1;
}

}  // namespace cli
}  // namespace sockrpc
