// How `sockrpc conformance` prints its results, in both modes (checking a
// server, checking a client): one line per check, or one JSON object.
// Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_CONFORMANCE_REPORT_H_
#define SOCKRPC_TOOLS_CLI_CONFORMANCE_REPORT_H_

#include <string>
#include <vector>

#include "tools/conformance/check.h"

namespace sockrpc {
namespace cli {

// One check's result.
struct CheckResult {
  std::string id;
  std::string title;
  conformance::Outcome outcome;
};

// "PASS  3/1     title"; a failure adds what was expected, what came and
// the bytes received; a skip says why. Flushes stdout.
void PrintResultLine(const CheckResult& result);

// "N checks: P passed, F failed, S skipped".
void PrintSummary(const std::vector<CheckResult>& results);

// {"PEER_FIELD": PEER, "checks": [{id, title, result, ...}], "passed": P,
//  "failed": F, "skipped": S}
void PrintJson(const std::string& peer_field, const std::string& peer,
               const std::vector<CheckResult>& results);

// The exit status: 0 if no check failed, else 1.
int ExitStatus(const std::vector<CheckResult>& results);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_CONFORMANCE_REPORT_H_
