// sockrpc conformance: checks that a server follows docs/PROTOCOL.md, rule
// by rule (the checks are in tools/conformance/), and prints one line per
// check: PASS, FAIL (with what was expected, what came, and the bytes in
// hex) or SKIP (with why the check does not apply to this server).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "sockrpc/wire.pb.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/conformance_client.h"
#include "tools/cli/conformance_report.h"
#include "tools/conformance/check.h"
#include "tools/conformance/client_judge.h"
#include "tools/conformance/frames.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace cli {
namespace {

using conformance::Check;
using conformance::CheckConfig;
using conformance::Outcome;

// Whether the server serves the interop service: an EmptyCall succeeds.
// UNAVAILABLE only if the server cannot be reached at all; a server that
// answers wrongly is not the interop service, and the checks say the rest.
absl::StatusOr<bool> ServesInterop(const CheckConfig& config) {
  conformance::Probe probe(config);
  if (!probe.Connect()) {
    return absl::UnavailableError(probe.outcome().got);
  }
  if (!probe.Send(conformance::Preface() +
                  conformance::UnaryCall(
                      1, conformance::InteropMethod("EmptyCall"), ""))) {
    return false;
  }
  absl::StatusOr<std::string> preface =
      probe.peer().ReadExactly(kPrefaceSize, probe.Deadline());
  if (!preface.ok() || *preface != conformance::Preface()) return false;
  // Only the code matters here; the checks judge the rest.
  for (;;) {
    std::optional<conformance::RawFrame> frame =
        probe.Next("the STATUS of a first call (EmptyCall)");
    if (!frame) return false;
    if (frame->stream_id == 1 && frame->type == conformance::kStatus) {
      wire::CallStatus status;
      return status.ParseFromString(frame->payload) && status.code() == 0;
    }
  }
}

bool Selected(const Check& check, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const std::string& id : only) {
    // "8.1" selects 8.1/1, 8.1/2, ...; "8.1/2" selects only that check.
    if (check.id == id || absl::StartsWith(check.id, id + "/")) return true;
  }
  return false;
}

}  // namespace

int RunConformance(int argc, char** argv) {
  ArgParser parser(
      "conformance",
      "conformance [OPTIONS] ADDR\n"
      "       sockrpc conformance --client --listen ADDR --upstream ADDR",
      "Checks that the sockrpc server at ADDR follows the wire protocol "
      "(docs/PROTOCOL.md): one numbered check per rule, each on connections "
      "of its own, sending valid and deliberately broken frames and judging "
      "the answers. Prints PASS, FAIL or SKIP per check, with the section of "
      "PROTOCOL.md in its id (\"8.1/3\": section 8.1, third check). Checks "
      "that need a streaming method run when the server serves the interop "
      "service (docs/INTEROP.md). With --client, checks a client instead: it "
      "serves at --listen as a strict server, relaying each connection to "
      "the real server at --upstream, judges every frame clients send "
      "(checks C3/1 ...) and adds frames a client must cope with (a PING, "
      "frames of unknown types); on SIGINT or SIGTERM it prints the report. "
      "Exit status: 0 if no check failed, 1 if one did or the server could "
      "not be reached, 2 on a usage error.");
  std::string method;
  std::string request_hex;
  std::string max_frame_size = "4194304";
  std::string max_metadata_size = "16384";
  std::string handshake_timeout;
  std::string shutdown_pid;
  std::string timeout = "5s";
  std::vector<std::string> only;
  bool json = false;
  bool list = false;
  bool client = false;
  std::string listen;
  std::string upstream;
  parser.AddString({"--method"}, "/PKG.SVC/METHOD",
                   "a unary method that succeeds for --request (default: the "
                   "interop service's EmptyCall, if served)",
                   &method);
  parser.AddString({"--request"}, "HEX",
                   "the encoded request for --method, in hex (default: empty)",
                   &request_hex);
  parser.AddString({"--max-frame-size"}, "BYTES",
                   "the server's frame-size limit; with --client, the "
                   "client's own (default 4194304)",
                   &max_frame_size);
  parser.AddString({"--max-metadata-size"}, "BYTES",
                   "the server's metadata limit; with --client, the "
                   "client's own (default 16384)",
                   &max_metadata_size);
  parser.AddString({"--handshake-timeout"}, "DURATION",
                   "the server's handshake timeout; check 3/5 runs only when "
                   "it is given",
                   &handshake_timeout);
  parser.AddString({"--shutdown-pid"}, "PID",
                   "the server's process id; check 9/1 sends it SIGTERM, "
                   "last, and runs only when it is given",
                   &shutdown_pid);
  parser.AddString({"--timeout"}, "DURATION",
                   "how long to wait for an answer a rule requires "
                   "(default 5s)",
                   &timeout);
  parser.AddList({"--only"}, "ID",
                 "run only this check (\"8.1/3\") or section (\"8.1\"); "
                 "may repeat",
                 &only);
  parser.AddBool({"--json"}, "print the results as one JSON object", &json);
  parser.AddBool({"--list"}, "list the checks and exit", &list);
  parser.AddBool({"--client"},
                 "check clients: serve at --listen, relay to --upstream",
                 &client);
  parser.AddString({"--listen"}, "ADDR", "with --client: where clients connect",
                   &listen);
  parser.AddString({"--upstream"}, "ADDR",
                   "with --client: the real server the calls go to", &upstream);
  std::vector<std::string> args;
  if (std::optional<int> done = parser.Parse(argc, argv, &args)) return *done;

  if (list) {
    for (const Check& check : conformance::AllServerChecks()) {
      std::printf("%-8s %s\n", check.id, check.title);
    }
    for (const conformance::ClientCheck& check : conformance::ClientChecks()) {
      std::printf("%-8s %s\n", check.id, check.title);
    }
    return 0;
  }
  uint32_t frame_limit = 0;
  uint32_t metadata_limit = 0;
  if (!absl::SimpleAtoi(max_frame_size, &frame_limit) ||
      !absl::SimpleAtoi(max_metadata_size, &metadata_limit) ||
      metadata_limit < 8 || frame_limit < 1024 || frame_limit > (1u << 30) ||
      metadata_limit > frame_limit) {
    return parser.UsageError(
        "--max-frame-size or --max-metadata-size is "
        "not a valid size");
  }
  for (const std::string& id : only) {
    bool known = false;
    for (const Check& check : conformance::AllServerChecks()) {
      known |= Selected(check, {id});
    }
    if (!known) {
      return parser.UsageError(absl::StrCat("--only ", id,
                                            ": no such check or section "
                                            "(see --list)"));
    }
  }
  if (client) {
    if (!args.empty() || listen.empty() || upstream.empty()) {
      return parser.UsageError(
          "--client takes --listen and --upstream, and "
          "no ADDR");
    }
    return RunClientChecks(listen, upstream, frame_limit, metadata_limit, json);
  }
  if (args.size() != 1) {
    return parser.UsageError(args.empty() ? "missing ADDR"
                                          : "too many arguments");
  }
  CheckConfig config;
  absl::StatusOr<Address> address = ParseAddress(args[0]);
  if (!address.ok()) return parser.UsageError(address.status().message());
  config.address = *address;
  config.method = method;
  if (request_hex.size() % 2 != 0 ||
      request_hex.find_first_not_of("0123456789abcdefABCDEF") !=
          std::string::npos) {
    return parser.UsageError("--request must be an even number of hex digits");
  }
  config.request = absl::HexStringToBytes(request_hex);
  config.max_frame_size = frame_limit;
  config.max_metadata_size = metadata_limit;
  int pid = 0;
  if ((!shutdown_pid.empty() &&
       (!absl::SimpleAtoi(shutdown_pid, &pid) || pid <= 0)) ||
      !absl::ParseDuration(timeout, &config.timeout) ||
      (!handshake_timeout.empty() &&
       !absl::ParseDuration(handshake_timeout, &config.handshake_timeout))) {
    return parser.UsageError("a pid or duration is not valid");
  }
  config.shutdown_pid = pid;

  absl::StatusOr<bool> interop = ServesInterop(config);
  if (!interop.ok()) {
    std::fprintf(stderr, "sockrpc conformance: %s: %s\n", args[0].c_str(),
                 std::string(interop.status().message()).c_str());
    return 1;
  }
  config.interop = *interop;
  if (config.method.empty() && config.interop) {
    config.method = conformance::InteropMethod("EmptyCall");
  }

  std::vector<CheckResult> results;
  for (const Check& check : conformance::AllServerChecks()) {
    if (!Selected(check, only)) continue;
    const std::string why = conformance::WhySkipped(check, config);
    CheckResult result{check.id, check.title,
                       why.empty() ? check.run(config) : Outcome::Skip(why)};
    if (!json) PrintResultLine(result);
    results.push_back(std::move(result));
  }
  if (json) {
    PrintJson("server", args[0], results);
  } else {
    PrintSummary(results);
  }
  return ExitStatus(results);
}

}  // namespace cli
}  // namespace sockrpc
