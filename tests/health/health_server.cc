// health_server: serves the Increment service and the health service for
// the health tests, with the statuses under the test's control.
//
//   health_server [--listen ADDRESS] [--not_serving NAME,...]
//                 [--server_not_serving] [--flip NAME,...] [--health=false]
//                 [--max_threads N]
//
// --not_serving names, and with --server_not_serving the server as a
// whole (""), are set NOT_SERVING before the server starts. SIGUSR1 sets
// "" and every --flip name NOT_SERVING and SIGUSR2 SERVING, each change
// printed as "health: NAME NOT_SERVING" once made ("" printed as ""), so
// that a test can wait for it.
//
// Prints "listening on ADDRESS" and "server waiting" once it serves;
// SIGINT, SIGTERM or SIGHUP shut it down gracefully ("server stopped").
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "increment.sockrpc.pb.h"
#include "server/health_service.h"
#include "server/server.h"
#include "tests/testing/serve_until_signal.h"

ABSL_FLAG(std::string, listen, "unix:health_socket",
          "address to serve on, in any form sockrpc accepts");
ABSL_FLAG(std::vector<std::string>, not_serving, {},
          "comma-separated names to set NOT_SERVING before starting (an "
          "empty name is the whole server)");
ABSL_FLAG(bool, server_not_serving, false,
          "set the server as a whole (\"\") NOT_SERVING before starting");
ABSL_FLAG(std::vector<std::string>, flip,
          std::vector<std::string>({"increment.Increment"}),
          "names that SIGUSR1 sets NOT_SERVING and SIGUSR2 SERVING, besides "
          "the server as a whole");
ABSL_FLAG(bool, health, true,
          "serve the health service (--health=false: "
          "enable_health_service = false)");
ABSL_FLAG(int, max_threads, 256, "most blocking handlers at once");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "on SIGTERM/SIGINT/SIGHUP, how long calls may take to finish");

namespace {

// Increment for ASCII: the next character.
class IncrementService final : public increment::Increment::Service {
 public:
  absl::Status Increment(sockrpc::ServerContext* /*context*/,
                         const increment::IncrementRequest& request,
                         increment::IncrementReply* reply) override {
    if (request.character().size() != 1) {
      return absl::InvalidArgumentError("one ASCII character, please");
    }
    reply->set_character(std::string(1, request.character()[0] + 1));
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"health_server [--listen ADDRESS] [OPTIONS]",
       "Serves Increment and the health service for the health tests: "
       "SIGUSR1 sets the --flip names NOT_SERVING, SIGUSR2 SERVING."});

  // Before any thread starts, so that every thread inherits the mask and
  // the signals wait for sigwait() below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) {
    sigaddset(&signals, signal_number);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sockrpc::ServerOptions options;
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.enable_health_service = absl::GetFlag(FLAGS_health);
  sockrpc::Server server(options);
  std::vector<std::string> not_serving = absl::GetFlag(FLAGS_not_serving);
  if (absl::GetFlag(FLAGS_server_not_serving)) not_serving.push_back("");
  if (server.health() != nullptr) {
    for (const std::string& name : not_serving) {
      server.health()->SetServingStatus(name, false);
    }
  }
  IncrementService increment;
  absl::Status status = server.RegisterService(&increment);
  absl::StatusOr<std::string> address =
      server.Listen(absl::GetFlag(FLAGS_listen));
  if (status.ok() && !address.ok()) status = address.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "health_server: %s\n", status.ToString().c_str());
    return 1;
  }
  sockrpc::testing::PrintLine(absl::StrCat("listening on ", *address));
  sockrpc::testing::PrintLine("server waiting");

  int signal_number = 0;
  for (;;) {
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGUSR1 && signal_number != SIGUSR2) break;
    const bool serving = signal_number == SIGUSR2;
    std::vector<std::string> names = absl::GetFlag(FLAGS_flip);
    names.insert(names.begin(), "");
    for (const std::string& name : names) {
      if (server.health() != nullptr) {
        server.health()->SetServingStatus(name, serving);
      }
      sockrpc::testing::PrintLine(
          absl::StrCat("health: ", name.empty() ? "\"\"" : name,
                       serving ? " SERVING" : " NOT_SERVING"));
    }
  }
  sockrpc::testing::PrintLine("server shutting down");
  server.Shutdown(absl::Now() + absl::GetFlag(FLAGS_shutdown_grace));
  sockrpc::testing::PrintLine("server stopped");
  return 0;
}
