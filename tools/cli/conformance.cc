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
#include "tools/cli/json_text.h"
#include "tools/conformance/check.h"
#include "tools/conformance/frames.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace cli {
namespace {

using conformance::Check;
using conformance::CheckConfig;
using conformance::Outcome;
using conformance::Verdict;

struct Result {
  const Check* check;
  Outcome outcome;
};

// Whether the server serves the interop service: an EmptyCall succeeds.
absl::StatusOr<bool> ServesInterop(const CheckConfig& config) {
  conformance::Probe probe(config);
  if (!probe.Handshake()) {
    return absl::UnavailableError(
        absl::StrCat("no sockrpc handshake with the server: expected ",
                     probe.outcome().expected, ", got ", probe.outcome().got));
  }
  probe.Send(
      conformance::UnaryCall(1, conformance::InteropMethod("EmptyCall"), ""));
  // Only the code matters here; the checks judge the rest.
  for (;;) {
    std::optional<conformance::RawFrame> frame =
        probe.Next("the STATUS of a first call (EmptyCall)");
    if (!frame) {
      return absl::UnavailableError(absl::StrCat(
          "the first call failed: expected ", probe.outcome().expected,
          ", got ", probe.outcome().got));
    }
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

void PrintText(const Result& result) {
  static constexpr const char* kVerdicts[] = {"PASS", "FAIL", "SKIP"};
  const Outcome& outcome = result.outcome;
  std::printf("%s  %-7s %s", kVerdicts[static_cast<int>(outcome.verdict)],
              result.check->id, result.check->title);
  if (outcome.verdict == Verdict::kSkip) {
    std::printf(" (%s)", outcome.got.c_str());
  }
  std::printf("\n");
  if (outcome.verdict == Verdict::kFail) {
    std::printf("        expected: %s\n        got:      %s\n",
                outcome.expected.c_str(), outcome.got.c_str());
    if (!outcome.received.empty()) {
      std::printf("        received: %s\n",
                  conformance::Hex(outcome.received, 256).c_str());
    }
  }
  std::fflush(stdout);
}

void PrintJson(const std::string& address, const std::vector<Result>& results,
               int passed, int failed, int skipped) {
  static constexpr const char* kVerdicts[] = {"pass", "fail", "skip"};
  std::string json =
      absl::StrCat("{\"server\":", JsonQuote(address), ",\"checks\":[");
  for (size_t i = 0; i < results.size(); ++i) {
    const Outcome& outcome = results[i].outcome;
    absl::StrAppend(
        &json, i == 0 ? "" : ",", "{\"id\":", JsonQuote(results[i].check->id),
        ",\"title\":", JsonQuote(results[i].check->title), ",\"result\":\"",
        kVerdicts[static_cast<int>(outcome.verdict)], "\"");
    if (outcome.verdict == Verdict::kFail) {
      absl::StrAppend(&json, ",\"expected\":", JsonQuote(outcome.expected),
                      ",\"got\":", JsonQuote(outcome.got),
                      ",\"received_hex\":\"", LowerHex(outcome.received), "\"");
    } else if (outcome.verdict == Verdict::kSkip) {
      absl::StrAppend(&json, ",\"why\":", JsonQuote(outcome.got));
    }
    absl::StrAppend(&json, "}");
  }
  absl::StrAppend(&json, "],\"passed\":", passed, ",\"failed\":", failed,
                  ",\"skipped\":", skipped, "}\n");
  std::fputs(json.c_str(), stdout);
}

}  // namespace

int RunConformance(int argc, char** argv) {
  ArgParser parser(
      "conformance", "conformance [OPTIONS] ADDR",
      "Checks that the sockrpc server at ADDR follows the wire protocol "
      "(docs/PROTOCOL.md): one numbered check per rule, each on connections "
      "of its own, sending valid and deliberately broken frames and judging "
      "the answers. Prints PASS, FAIL or SKIP per check, with the section of "
      "PROTOCOL.md in its id (\"8.1/3\": section 8.1, third check). Checks "
      "that need a streaming method run when the server serves the interop "
      "service (docs/INTEROP.md). Exit status: 0 if no check failed, 1 if "
      "one did or the server could not be reached, 2 on a usage error.");
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
  parser.AddString({"--method"}, "/PKG.SVC/METHOD",
                   "a unary method that succeeds for --request (default: the "
                   "interop service's EmptyCall, if served)",
                   &method);
  parser.AddString({"--request"}, "HEX",
                   "the encoded request for --method, in hex (default: empty)",
                   &request_hex);
  parser.AddString({"--max-frame-size"}, "BYTES",
                   "the server's frame-size limit (default 4194304)",
                   &max_frame_size);
  parser.AddString({"--max-metadata-size"}, "BYTES",
                   "the server's metadata limit (default 16384)",
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
  std::vector<std::string> args;
  if (std::optional<int> done = parser.Parse(argc, argv, &args)) return *done;

  const std::vector<Check> checks = conformance::AllServerChecks();
  if (list) {
    for (const Check& check : checks) {
      std::printf("%-7s %s\n", check.id, check.title);
    }
    return 0;
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
  int pid = 0;
  if (!absl::SimpleAtoi(max_frame_size, &config.max_frame_size) ||
      !absl::SimpleAtoi(max_metadata_size, &config.max_metadata_size) ||
      config.max_metadata_size < 8 ||
      (!shutdown_pid.empty() &&
       (!absl::SimpleAtoi(shutdown_pid, &pid) || pid <= 0)) ||
      !absl::ParseDuration(timeout, &config.timeout) ||
      (!handshake_timeout.empty() &&
       !absl::ParseDuration(handshake_timeout, &config.handshake_timeout))) {
    return parser.UsageError("a size, pid or duration is not valid");
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

  std::vector<Result> results;
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  for (const Check& check : checks) {
    if (!Selected(check, only)) continue;
    Result result{&check, Outcome::Pass()};
    const std::string why = conformance::WhySkipped(check, config);
    result.outcome = why.empty() ? check.run(config) : Outcome::Skip(why);
    switch (result.outcome.verdict) {
      case Verdict::kPass:
        ++passed;
        break;
      case Verdict::kFail:
        ++failed;
        break;
      case Verdict::kSkip:
        ++skipped;
        break;
    }
    if (!json) PrintText(result);
    results.push_back(std::move(result));
  }
  if (json) {
    PrintJson(args[0], results, passed, failed, skipped);
  } else {
    std::printf("\n%zu checks: %d passed, %d failed, %d skipped\n",
                results.size(), passed, failed, skipped);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace cli
}  // namespace sockrpc
