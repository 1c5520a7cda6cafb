// interop_server: serves the interop test service (interop.proto) for
// interop_client and the interop tests.
//
//   interop_server [--listen ADDRESS] [--max_frame_size BYTES] [--blocking]
//
// By default it serves every method through the callback API
// (InteropCallbackService: no call holds a thread, waits are timers);
// --blocking serves the same behaviour through the blocking API
// (InteropService: each call holds a server thread for its life). The
// interop tests run every case against both.
//
// The hardening tests also set the server's other limits and access rules
// through flags (--max_write_buffer, --max_metadata_size, --socket_mode,
// --socket_file_group, --allowed_uids, ...) and watch calls end with
// --log_calls; the interceptor tests hide error details with
// --redact_errors (a status hook, examples::ErrorRedactor).
//
// Prints "listening on ADDRESS" (with the real port for port 0) and then
// "server waiting" once it serves. SIGINT, SIGTERM or SIGHUP shut it down
// gracefully. Its frame limit defaults to 1 MiB, below the clients' 4 MiB,
// so that the oversized_message case can send a frame only the server
// refuses.
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "examples/common/tls_flags.h"
#include "examples/interceptors/server_interceptors.h"
#include "server/server.h"
#include "server/termination_signals.h"
#include "tests/interop/interop_callback_service.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/serve_until_signal.h"

ABSL_FLAG(std::string, listen, "unix:interop_socket",
          "address to serve on, in any form sockrpc accepts (unix:PATH, "
          "unix-abstract:NAME, ipv4:127.0.0.1:0, ...)");
ABSL_FLAG(uint32_t, max_frame_size, 1u << 20,
          "largest frame payload accepted or sent, in bytes");
ABSL_FLAG(bool, blocking, false,
          "serve through the blocking API (a server thread per call) "
          "instead of the callback API");
ABSL_FLAG(int, max_threads, 256,
          "most blocking handlers at once; with --blocking the "
          "concurrent_streams case keeps 100 busy at once");
ABSL_FLAG(
    absl::Duration, shutdown_grace, absl::Seconds(5),
    "on SIGTERM/SIGINT/SIGHUP, how long calls in flight may take to finish");
ABSL_FLAG(uint64_t, max_write_buffer, 32u << 20,
          "bytes of replies buffered for a client that does not read");
ABSL_FLAG(uint64_t, max_metadata_size, 16u << 10,
          "largest request metadata of one call, in bytes");
ABSL_FLAG(int, max_connections, 4096, "most client connections at once");
ABSL_FLAG(int, max_calls_per_connection, 1000,
          "most calls in flight on one connection");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Hours(1),
          "close connections idle this long (0: never)");
ABSL_FLAG(absl::Duration, keepalive_time, absl::InfiniteDuration(),
          "PING a connection quiet for this long (inf: never)");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "close a connection whose keepalive PING is unanswered this long");
ABSL_FLAG(absl::Duration, min_time_between_pings, absl::Minutes(5),
          "GOAWAY to a client whose PINGs come closer than this, three times "
          "with no call between (0: any rate)");
ABSL_FLAG(absl::Duration, exit_when_idle, absl::ZeroDuration(),
          "exit (status 0) once no client has been connected for this long "
          "(0: never)");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10),
          "drop a client that sends no connection preface within this time");
ABSL_FLAG(std::string, socket_mode, "",
          "octal mode for the socket file, e.g. 0660 (default: umask)");
ABSL_FLAG(int, socket_file_group, -1,
          "gid to own the socket file (default: the process's group)");
ABSL_FLAG(std::vector<std::string>, allowed_uids, {},
          "comma-separated uids allowed to call (unix sockets)");
ABSL_FLAG(std::vector<std::string>, allowed_gids, {},
          "comma-separated gids allowed to call (unix sockets)");
ABSL_FLAG(bool, stats, false,
          "serve the stats service (`sockrpc stats`), readable by this "
          "server's own user over a unix socket");
ABSL_FLAG(bool, log_calls, false,
          "print one line per finished call (method, peer, status, time)");
ABSL_FLAG(bool, redact_errors, false,
          "send clients \"internal error (ref N)\" instead of the message "
          "of an INTERNAL, UNKNOWN or DATA_LOSS status, and print the "
          "original with N");

namespace {

// Parses comma-separated ids into `*ids`; false on a bad one.
template <typename Id>
bool ParseIds(const std::vector<std::string>& texts, std::vector<Id>* ids) {
  for (const std::string& text : texts) {
    uint32_t id;
    if (!absl::SimpleAtoi(text, &id)) return false;
    ids->push_back(static_cast<Id>(id));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"interop_server [--listen ADDRESS] [OPTIONS]",
       "Serves the sockrpc interop test service (docs/INTEROP.md), for "
       "interop_client and for peers written in other languages."});

  // Before any server thread starts, so that they all inherit the mask.
  sockrpc::TerminationSignals signals;

  sockrpc::ServerOptions options;
  options.max_frame_size = absl::GetFlag(FLAGS_max_frame_size);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.exit_when_idle = absl::GetFlag(FLAGS_exit_when_idle);
  options.enable_stats_service = absl::GetFlag(FLAGS_stats);
  options.max_write_buffer = absl::GetFlag(FLAGS_max_write_buffer);
  options.max_metadata_size = absl::GetFlag(FLAGS_max_metadata_size);
  options.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.max_calls_per_connection =
      absl::GetFlag(FLAGS_max_calls_per_connection);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  absl::StatusOr<std::optional<sockrpc::TlsServerOptions>> tls =
      sockrpc::examples::ServerTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "interop_server: %s\n",
                 std::string(tls.status().message()).c_str());
    return 2;
  }
  options.tls = *std::move(tls);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.min_time_between_pings = absl::GetFlag(FLAGS_min_time_between_pings);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  if (absl::GetFlag(FLAGS_socket_file_group) >= 0) {
    options.socket_file_group =
        static_cast<gid_t>(absl::GetFlag(FLAGS_socket_file_group));
  }
  const std::string mode = absl::GetFlag(FLAGS_socket_mode);
  if (!mode.empty()) {
    char* end = nullptr;
    unsigned long bits = std::strtoul(mode.c_str(), &end, 8);
    if (end == mode.c_str() || *end != '\0' || bits > 07777) {
      std::fprintf(stderr, "interop_server: bad --socket_mode \"%s\"\n",
                   mode.c_str());
      return 2;
    }
    options.socket_file_mode = static_cast<mode_t>(bits);
  }
  if (!ParseIds(absl::GetFlag(FLAGS_allowed_uids), &options.allowed_uids) ||
      !ParseIds(absl::GetFlag(FLAGS_allowed_gids), &options.allowed_gids)) {
    std::fprintf(stderr, "interop_server: bad --allowed_uids/--allowed_gids\n");
    return 2;
  }
  sockrpc::examples::CallLogger call_logger(
      [](absl::string_view line) { sockrpc::testing::PrintLine(line); });
  if (absl::GetFlag(FLAGS_log_calls)) {
    options.interceptors.push_back(&call_logger);
  }
  sockrpc::examples::ErrorRedactor error_redactor(
      [](absl::string_view line) { sockrpc::testing::PrintLine(line); });
  if (absl::GetFlag(FLAGS_redact_errors)) {
    options.interceptors.push_back(&error_redactor);
  }

  std::unique_ptr<sockrpc::Service> service;
  if (absl::GetFlag(FLAGS_blocking)) {
    service = std::make_unique<sockrpc::interop::InteropService>();
  } else {
    service = std::make_unique<sockrpc::interop::InteropCallbackService>();
  }
  return sockrpc::testing::ServeUntilSignal(
      "interop_server", {service.get()}, std::move(options),
      absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_grace),
      signals);
}
