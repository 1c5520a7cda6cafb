// increment_server: the Increment demo server.
//
// The classic Unix-socket example, grown up: it names a socket (bind),
// queues connections (listen), takes each (accept) and answers every
// character a client sends with the next one — for many clients at once.
//
//   increment_server [--listen unix:server_socket]
//
// Prints "server waiting" once it listens. SIGINT, SIGTERM or SIGHUP shut it
// down gracefully; the socket file is removed.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/common/program_flags.h"
#include "examples/common/tls_flags.h"
#include "examples/interceptors/server_interceptors.h"
#include "increment_server.sockrpc.pb.h"
#include "sockrpc/server/server.h"
#include "sockrpc/server/termination_signals.h"

ABSL_FLAG(std::string, listen, "unix:server_socket",
          "address to serve on: unix:PATH, unix:///ABS/PATH, "
          "unix-abstract:NAME, ipv4:HOST:PORT, ipv6:[HOST]:PORT or HOST:PORT "
          "(port 0 picks a free port); systemd: or systemd:NAME to serve "
          "the sockets systemd passed (socket activation)");
ABSL_FLAG(std::string, socket_mode, "",
          "octal mode for the socket file, e.g. 0600 (default: as the umask "
          "gives)");
ABSL_FLAG(int, max_threads, 256, "most server threads (handlers at once)");
ABSL_FLAG(uint32_t, max_frame_size, 4u << 20,
          "largest frame payload accepted or sent, in bytes");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10),
          "drop a client that sends no connection preface within this time");
ABSL_FLAG(std::vector<std::string>, allowed_uids, {},
          "comma-separated uids allowed to call (unix sockets; others get "
          "PERMISSION_DENIED)");
ABSL_FLAG(std::vector<std::string>, allowed_gids, {},
          "comma-separated gids allowed to call (unix sockets)");
ABSL_FLAG(bool, same_user_only, false,
          "allow only processes of the user running the server");
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
ABSL_FLAG(bool, log_calls, false,
          "print one line per call (method, peer, status, time): an example "
          "server interceptor");
ABSL_FLAG(std::string, require_token, "",
          "if set, serve only calls with metadata \"authorization: Bearer "
          "TOKEN\" (others get UNAUTHENTICATED): an example server "
          "interceptor");
ABSL_FLAG(bool, reflection, true,
          "serve the reflection service, through which `sockrpc list`, "
          "`describe` and `call` learn the schema (--reflection=false turns "
          "it off)");
ABSL_FLAG(absl::Duration, exit_when_idle, absl::ZeroDuration(),
          "exit (status 0) once no client has been connected for this long, "
          "for a server started on demand by systemd (0: never)");
ABSL_FLAG(bool, stats, false,
          "serve the stats service: live per-method counts, latency, bytes "
          "and connections for `sockrpc stats` (readable by this server's "
          "own user, over a unix socket)");
ABSL_FLAG(bool, health, true,
          "serve the health service, which `sockrpc health` and probes ask "
          "(--health=false turns it off)");
ABSL_FLAG(
    absl::Duration, shutdown_grace, absl::Seconds(5),
    "on SIGTERM/SIGINT/SIGHUP, how long calls in flight may take to finish");

namespace {

// Decodes the single UTF-8 character in `text` into `*code_point`.
bool DecodeOneCharacter(const std::string& text, uint32_t* code_point) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t length;
  uint32_t value;
  if (text.empty()) return false;
  if (bytes[0] < 0x80) {
    length = 1;
    value = bytes[0];
  } else if ((bytes[0] & 0xe0) == 0xc0) {
    length = 2;
    value = bytes[0] & 0x1f;
  } else if ((bytes[0] & 0xf0) == 0xe0) {
    length = 3;
    value = bytes[0] & 0x0f;
  } else if ((bytes[0] & 0xf8) == 0xf0) {
    length = 4;
    value = bytes[0] & 0x07;
  } else {
    return false;
  }
  if (text.size() != length) return false;
  for (size_t i = 1; i < length; ++i) {
    if ((bytes[i] & 0xc0) != 0x80) return false;
    value = (value << 6) | (bytes[i] & 0x3f);
  }
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kSmallest[length] || value > 0x10ffff ||
      (value >= 0xd800 && value <= 0xdfff)) {
    return false;  // overlong, out of range or a surrogate
  }
  *code_point = value;
  return true;
}

std::string EncodeCharacter(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
  return out;
}

// The Increment service: answers a character with the next one.
class IncrementService final : public increment::Increment::Service {
 public:
  absl::Status Increment(sockrpc::ServerContext* context,
                         const increment::IncrementRequest& request,
                         increment::IncrementReply* reply) override {
    uint32_t c;
    if (!DecodeOneCharacter(request.character(), &c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("character must be exactly one UTF-8 character, got \"",
                       request.character(), "\""));
    }
    if (c == 0x10ffff) {
      return absl::OutOfRangeError("U+10FFFF is the last character");
    }
    uint32_t next = c + 1 == 0xd800 ? 0xe000 : c + 1;  // skip surrogates
    reply->set_character(EncodeCharacter(next));
    return absl::OkStatus();
  }
};

// Logs one line on standard error (unbuffered), where a server's log
// belongs: standard output stays free for what a user asked to see.
void PrintLine(const std::string& line) {
  std::fputs((line + "\n").c_str(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"increment_server [--listen ADDRESS] [OPTIONS]",
       "Serves the Increment demo service: each call returns the character "
       "after the one sent. Prints \"server waiting\" on standard error once "
       "it accepts connections; SIGINT, SIGTERM or SIGHUP stop it gracefully "
       "and remove its socket file."});

  sockrpc::ServerOptions options;
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.max_frame_size = absl::GetFlag(FLAGS_max_frame_size);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  options.enable_reflection = absl::GetFlag(FLAGS_reflection);
  options.enable_health_service = absl::GetFlag(FLAGS_health);
  options.enable_stats_service = absl::GetFlag(FLAGS_stats);
  options.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.max_calls_per_connection =
      absl::GetFlag(FLAGS_max_calls_per_connection);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.min_time_between_pings = absl::GetFlag(FLAGS_min_time_between_pings);
  options.exit_when_idle = absl::GetFlag(FLAGS_exit_when_idle);
  absl::StatusOr<std::optional<sockrpc::TlsServerOptions>> tls =
      sockrpc::examples::ServerTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "increment_server: %s\n",
                 std::string(tls.status().message()).c_str());
    return 2;
  }
  options.tls = *std::move(tls);
  if (absl::GetFlag(FLAGS_same_user_only)) options.allowed_uids = {getuid()};
  for (const std::string& text : absl::GetFlag(FLAGS_allowed_uids)) {
    uint32_t id;
    if (!absl::SimpleAtoi(text, &id)) {
      std::fprintf(stderr, "increment_server: bad uid \"%s\"\n", text.c_str());
      return 2;
    }
    options.allowed_uids.push_back(id);
  }
  for (const std::string& text : absl::GetFlag(FLAGS_allowed_gids)) {
    uint32_t id;
    if (!absl::SimpleAtoi(text, &id)) {
      std::fprintf(stderr, "increment_server: bad gid \"%s\"\n", text.c_str());
      return 2;
    }
    options.allowed_gids.push_back(id);
  }
  std::string mode = absl::GetFlag(FLAGS_socket_mode);
  if (!mode.empty()) {
    char* end = nullptr;
    unsigned long bits = std::strtoul(mode.c_str(), &end, 8);
    if (end == mode.c_str() || *end != '\0' || bits > 07777) {
      std::fprintf(stderr,
                   "increment_server: --socket_mode must be octal, "
                   "e.g. 0600; got \"%s\"\n",
                   mode.c_str());
      return 2;
    }
    options.socket_file_mode = static_cast<mode_t>(bits);
  }

  // Before any server thread starts, so that they all inherit the mask.
  sockrpc::TerminationSignals signals;

  sockrpc::examples::CallLogger call_logger(
      [](absl::string_view line) { PrintLine(std::string(line)); });
  if (absl::GetFlag(FLAGS_log_calls)) {
    options.interceptors.push_back(&call_logger);
  }
  sockrpc::examples::TokenAuthenticator authenticator(
      absl::GetFlag(FLAGS_require_token));
  if (!absl::GetFlag(FLAGS_require_token).empty()) {
    options.interceptors.push_back(&authenticator);
  }

  IncrementService service;
  sockrpc::Server server(options);
  absl::Status status = server.RegisterService(&service);
  absl::StatusOr<std::string> address =
      server.Listen(absl::GetFlag(FLAGS_listen));
  if (!address.ok()) status = address.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "increment_server: %s\n", status.ToString().c_str());
    return 1;
  }
  PrintLine(absl::StrCat("listening on ", *address));
  PrintLine("server waiting");

  // The server may stop on its own (--exit_when_idle): that ends the wait
  // for a signal too.
  std::thread stopped_waiter([&] {
    server.Wait();
    signals.Interrupt("idle");
  });
  const char* signal_name = signals.Wait();
  PrintLine(absl::StrCat("server shutting down (", signal_name, ")"));
  server.Shutdown(absl::Now() + absl::GetFlag(FLAGS_shutdown_grace));
  stopped_waiter.join();
  PrintLine("server stopped");
  return 0;
}
