// interop_server: serves the interop test service (interop.proto) for
// interop_client and the interop tests.
//
//   interop_server [--listen ADDRESS] [--max_frame_size BYTES]
//
// Prints "listening on ADDRESS" (with the real port for port 0) and then
// "server waiting" once it serves. SIGINT or SIGTERM shut it down
// gracefully. Its frame limit defaults to 1 MiB, below the clients' 4 MiB,
// so that the oversized_message case can send a frame only the server
// refuses.
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/server.h"
#include "tests/interop/interop_service.h"

ABSL_FLAG(std::string, listen, "unix:interop_socket",
          "address to serve on, in any form sockrpc accepts (unix:PATH, "
          "unix-abstract:NAME, ipv4:127.0.0.1:0, ...)");
ABSL_FLAG(uint32_t, max_frame_size, 1u << 20,
          "largest frame payload accepted or sent, in bytes");
ABSL_FLAG(int, max_threads, 256,
          "most server threads; the concurrent_streams case keeps 100 "
          "handlers busy at once");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "on SIGTERM/SIGINT, how long calls in flight may take to finish");

namespace {

void PrintLine(const std::string& line) {
  std::string text = line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the sockrpc interop test service.\n"
      "Usage: interop_server [--listen ADDRESS] [--max_frame_size BYTES]");
  absl::ParseCommandLine(argc, argv);

  // Signals are taken by sigwait() below: block them before any server
  // thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sockrpc::ServerOptions options;
  options.max_frame_size = absl::GetFlag(FLAGS_max_frame_size);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);

  sockrpc::interop::InteropService service;
  sockrpc::Server server(options);
  absl::Status status = server.RegisterService(&service);
  absl::StatusOr<std::string> address =
      server.Listen(absl::GetFlag(FLAGS_listen));
  if (status.ok() && !address.ok()) status = address.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "interop_server: %s\n", status.ToString().c_str());
    return 1;
  }
  PrintLine(absl::StrCat("listening on ", *address));
  PrintLine("server waiting");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  PrintLine(absl::StrCat("server shutting down (",
                         signal_number == SIGINT ? "SIGINT" : "SIGTERM", ")"));
  server.Shutdown(absl::Now() + absl::GetFlag(FLAGS_shutdown_grace));
  PrintLine("server stopped");
  return 0;
}
