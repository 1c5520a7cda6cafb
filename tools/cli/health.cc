// sockrpc health: asks a server's health service (proto/sockrpc/health.proto)
// whether it, or one of its services, serves, and says so in its exit code,
// for supervisors, scripts and container probes, as grpc_health_probe does
// for gRPC servers. The exit codes are listed in commands.h.
#include <poll.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "sockrpc/health_client.sockrpc.pb.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"
#include "tools/cli/probe_setup.h"
#include "tools/cli/stop_signals.h"
#include "transport/poller.h"

namespace sockrpc {
namespace cli {
namespace {

namespace health_v1 = ::sockrpc::health::v1;
using Response = health_v1::HealthCheckResponse;

// The exit codes of commands.h.
constexpr int kServing = 0;
constexpr int kNoAnswer = 1;
constexpr int kNotServing = 3;
constexpr int kServiceUnknown = 4;

int ExitCodeOf(Response::ServingStatus status) {
  switch (status) {
    case Response::SERVING:
      return kServing;
    case Response::SERVICE_UNKNOWN:
      return kServiceUnknown;
    default:
      return kNotServing;
  }
}

void PrintStatus(Response::ServingStatus status) {
  std::printf("%s\n", Response::ServingStatus_Name(status).c_str());
  std::fflush(stdout);
}

// Reports a call that got no status, with a plain word for a server that
// serves no health service; returns kNoAnswer.
int ReportNoAnswer(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnimplemented) {
    return ReportFailure(absl::UnimplementedError(absl::StrCat(
        "the server does not serve the health service (",
        health_v1::Health::kServiceName, "): ", status.message())));
  }
  return ReportFailure(status);
}

// One Check call.
int Check(health_v1::Health::Stub* stub,
          const health_v1::HealthCheckRequest& request,
          const Metadata& metadata, absl::Duration timeout) {
  ClientContext context;
  context.set_timeout(timeout);
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  absl::StatusOr<Response> reply = stub->Check(&context, request);
  if (reply.ok()) {
    PrintStatus(reply->status());
    return ExitCodeOf(reply->status());
  }
  if (reply.status().code() == absl::StatusCode::kNotFound) {
    PrintStatus(Response::SERVICE_UNKNOWN);
    return kServiceUnknown;
  }
  return ReportNoAnswer(reply.status());
}

// A Watch call, printing each status, until the stream ends or `stop`
// fires (SIGINT, SIGTERM): the exit code of the last status printed.
int Watch(health_v1::Health::Stub* stub,
          const health_v1::HealthCheckRequest& request,
          const Metadata& metadata, const StopSignals& stop) {
  absl::StatusOr<Fd> ended = MakeEventFd(/*semaphore=*/false);
  if (!ended.ok()) return ReportFailure(ended.status());
  ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  ClientReader<Response> reader = stub->Watch(&context, request);
  // -1 until a status is printed.
  std::atomic<int> last{-1};
  // Read() blocks: it runs on its own thread, so that this one can cancel
  // the call when a stop signal comes.
  std::thread reading([&reader, &last, &ended] {
    Response reply;
    while (reader.Read(&reply)) {
      PrintStatus(reply.status());
      last.store(reply.status());
    }
    SignalEventFd(ended->get());
  });
  pollfd fds[2] = {{stop.fd(), POLLIN, 0}, {ended->get(), POLLIN, 0}};
  while (poll(fds, 2, -1) < 0) {
  }
  const bool stopped = (fds[0].revents & POLLIN) != 0;
  if (stopped) context.TryCancel();
  reading.join();
  absl::Status status = reader.Finish();
  if (last.load() < 0) return ReportNoAnswer(status);
  if (!stopped) {
    std::fprintf(stderr, "watch ended: %s: %s\n",
                 absl::StatusCodeToString(status.code()).c_str(),
                 std::string(status.message()).c_str());
  }
  return ExitCodeOf(static_cast<Response::ServingStatus>(last.load()));
}

}  // namespace

int RunHealth(int argc, char** argv) {
  ArgParser parser(
      "health", "health [OPTIONS] ADDR [SERVICE]",
      "Asks the health service of the server at ADDR whether SERVICE (a "
      "fully qualified service name), or without it the server as a whole, "
      "serves. Prints the status (SERVING, NOT_SERVING or SERVICE_UNKNOWN) "
      "and exits 0 only when it is SERVING, for supervisors, scripts and "
      "container probes. With --watch, prints the status and then each "
      "change until the server ends the stream or the command is "
      "interrupted (SIGINT, SIGTERM).\n\n"
      "ADDR is a server address: unix:PATH, unix-abstract:NAME, "
      "ipv4:HOST:PORT, ipv6:[HOST]:PORT or HOST:PORT.");
  ProbeFlags flags;
  flags.connect_timeout = "1s";
  flags.timeout = "1s";
  parser.AddString({"--connect-timeout"}, "DURATION",
                   "give up on reaching the server after this long (the "
                   "connection and the server's preface); default: 1s",
                   &flags.connect_timeout);
  parser.AddString({"--timeout"}, "DURATION",
                   "give up on the health check after this long, connecting "
                   "included (not with --watch); default: 1s",
                   &flags.timeout);
  parser.AddList({"-H", "--header"}, "KEY:VALUE",
                 "request metadata to send with the call (a server that "
                 "authenticates its calls wants its token); a key ending in "
                 "-bin takes its value in base64",
                 &flags.headers);
  AddTlsOptions(&parser, &flags.tls);
  parser.AddBool({"--watch"},
                 "print the status, then each change, until interrupted",
                 &flags.watch);
  parser.AddNotes(
      "Exit codes:\n"
      "  0  SERVING\n"
      "  1  no answer: the server cannot be reached, is not a sockrpc\n"
      "     server, took too long, or serves no health service\n"
      "  2  usage error\n"
      "  3  NOT_SERVING\n"
      "  4  SERVICE_UNKNOWN: the server knows no such service\n"
      "With --watch, the code of the last status printed (1 if none).\n"
      "\n"
      "Examples:\n"
      "  sockrpc health unix:/run/app.sock\n"
      "  sockrpc health unix:/run/app.sock increment.Increment\n"
      "  sockrpc health -H 'authorization: Bearer TOKEN' unix:/run/app.sock\n"
      "  sockrpc health --watch unix:/run/app.sock");
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  if (args.empty()) return parser.UsageError("missing ADDR");
  if (args.size() > 2) return parser.UsageError("too many arguments");
  Probe probe;
  if (std::optional<int> exit_code =
          SetUpProbe(parser, args[0], flags, &probe)) {
    return *exit_code;
  }
  health_v1::Health::Stub stub(probe.channel);
  health_v1::HealthCheckRequest request;
  if (args.size() == 2) request.set_service(args[1]);
  return flags.watch ? Watch(&stub, request, probe.metadata, *probe.stop)
                     : Check(&stub, request, probe.metadata, probe.timeout);
}

}  // namespace cli
}  // namespace sockrpc
