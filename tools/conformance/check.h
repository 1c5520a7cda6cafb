// The conformance checks of `sockrpc conformance`: what a check is, what it
// is told about the server under test, and what it concludes.
//
// A check is one numbered rule of docs/PROTOCOL.md, tried on a connection
// of its own: it sends the bytes the rule is about (a valid call, or a
// frame breaking the rule on purpose) and judges the server's answer. Its
// id is "SECTION/N": the section of PROTOCOL.md that states the rule, then
// a number within that section. Ids are stable: a check keeps its id when
// others are added.
//
// Checks share no state; each opens its own connections and closes them
// before it returns. Internal to tools/conformance.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_CHECK_H_
#define SOCKRPC_TOOLS_CONFORMANCE_CHECK_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "transport/address.h"

namespace sockrpc {
namespace conformance {

// CheckConfig: what the checks know of the server under test.
struct CheckConfig {
  Address address;
  // A unary method that succeeds for `request` (its encoded request):
  // EmptyCall of the interop service unless --method names another. Empty
  // when there is none; the checks that need it are skipped.
  std::string method;
  std::string request;
  // The server serves sockrpc.interop.InteropTest (docs/INTEROP.md).
  bool interop = false;
  // The server's limits as far as the checks must know them: a frame of
  // max_frame_size + 1 bytes is over the limit, metadata of
  // max_metadata_size + 1 bytes too.
  uint32_t max_frame_size = 4u << 20;
  uint32_t max_metadata_size = 16u << 10;
  // The server's handshake timeout; zero when not told (the check of it is
  // skipped).
  absl::Duration handshake_timeout = absl::ZeroDuration();
  // The process to send SIGTERM for the shutdown check, which runs last; 0
  // when not told (skipped).
  pid_t shutdown_pid = 0;
  // How long to wait for an answer the rule requires.
  absl::Duration timeout = absl::Seconds(5);
};

// Verdict: a check passed, failed, or did not apply to this server.
enum class Verdict { kPass, kFail, kSkip };

// Outcome: what a check concluded. On failure, what the rule required,
// what came back instead, and the bytes the server sent on the connection
// where it went wrong.
struct Outcome {
  Verdict verdict = Verdict::kPass;
  std::string expected;  // kFail
  std::string got;       // kFail; kSkip: why it does not apply
  std::string received;  // kFail: raw bytes from the server

  static Outcome Pass() { return Outcome{}; }
  static Outcome Skip(std::string why) {
    return Outcome{Verdict::kSkip, "", std::move(why), ""};
  }
};

// What a check needs from the server beyond the protocol itself.
enum class Needs {
  kNothing,           // any sockrpc server
  kUnaryMethod,       // CheckConfig::method
  kInterop,           // the interop service
  kHandshakeTimeout,  // CheckConfig::handshake_timeout
  kShutdown,          // CheckConfig::shutdown_pid; ends the server
};

struct Check {
  const char* id;     // "6.3/2"
  const char* title;  // what the rule says, as a sentence
  Needs needs;
  Outcome (*run)(const CheckConfig& config);
};

// The checks of each part of PROTOCOL.md (checks_*.cc).
std::vector<Check> HandshakeChecks();   // 3: the preface
std::vector<Check> FrameChecks();       // 4, 6.1/1, 8.1/1-11, 10: frames
std::vector<Check> CallChecks();        // 4.7, 4.11, 6.1-6.5, 8.1/12: calls
std::vector<Check> LimitChecks();       // 6.6-6.8, 8.2: deadlines, limits
std::vector<Check> ConnectionChecks();  // 9: shutdown

// Every check in the order they run (the shutdown check last).
std::vector<Check> AllServerChecks();

// Why `check` cannot run against a server described by `config`, or ""
// if it can.
std::string WhySkipped(const Check& check, const CheckConfig& config);

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_CHECK_H_
