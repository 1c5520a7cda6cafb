#include "tools/cli/conformance_report.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "tools/cli/json_text.h"
#include "tools/conformance/wire_peer.h"

namespace sockrpc {
namespace cli {
namespace {

using conformance::Verdict;

int Count(const std::vector<CheckResult>& results, Verdict verdict) {
  int count = 0;
  for (const CheckResult& result : results) {
    if (result.outcome.verdict == verdict) ++count;
  }
  return count;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kSkip:
      return "skip";
  }
  return "";
}

}  // namespace

void PrintResultLine(const CheckResult& result) {
  const conformance::Outcome& outcome = result.outcome;
  std::string verdict = VerdictName(outcome.verdict);
  for (char& c : verdict) c = static_cast<char>(c - 'a' + 'A');
  std::printf("%s  %-8s %s", verdict.c_str(), result.id.c_str(),
              result.title.c_str());
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

void PrintSummary(const std::vector<CheckResult>& results) {
  std::printf("\n%zu checks: %d passed, %d failed, %d skipped\n",
              results.size(), Count(results, Verdict::kPass),
              Count(results, Verdict::kFail), Count(results, Verdict::kSkip));
  std::fflush(stdout);
}

void PrintJson(const std::string& peer_field, const std::string& peer,
               const std::vector<CheckResult>& results) {
  std::string json = absl::StrCat("{", JsonQuote(peer_field), ":",
                                  JsonQuote(peer), ",\"checks\":[");
  for (size_t i = 0; i < results.size(); ++i) {
    const conformance::Outcome& outcome = results[i].outcome;
    absl::StrAppend(&json, i == 0 ? "" : ",",
                    "{\"id\":", JsonQuote(results[i].id),
                    ",\"title\":", JsonQuote(results[i].title),
                    ",\"result\":\"", VerdictName(outcome.verdict), "\"");
    if (outcome.verdict == Verdict::kFail) {
      absl::StrAppend(&json, ",\"expected\":", JsonQuote(outcome.expected),
                      ",\"got\":", JsonQuote(outcome.got),
                      ",\"received_hex\":\"", LowerHex(outcome.received), "\"");
    } else if (outcome.verdict == Verdict::kSkip) {
      absl::StrAppend(&json, ",\"why\":", JsonQuote(outcome.got));
    }
    absl::StrAppend(&json, "}");
  }
  absl::StrAppend(&json, "],\"passed\":", Count(results, Verdict::kPass),
                  ",\"failed\":", Count(results, Verdict::kFail),
                  ",\"skipped\":", Count(results, Verdict::kSkip), "}\n");
  std::fputs(json.c_str(), stdout);
  std::fflush(stdout);
}

int ExitStatus(const std::vector<CheckResult>& results) {
  return Count(results, Verdict::kFail) == 0 ? 0 : 1;
}

}  // namespace cli
}  // namespace sockrpc
