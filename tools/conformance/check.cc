#include "tools/conformance/check.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace sockrpc {
namespace conformance {

namespace {

// The numbers of an id, "8.1/12" -> {8, 1, 12}, for ordering.
std::vector<int> IdNumbers(absl::string_view id) {
  std::vector<int> numbers;
  for (absl::string_view part : absl::StrSplit(id, absl::ByAnyChar("./"))) {
    int number = 0;
    absl::SimpleAtoi(part, &number);
    numbers.push_back(number);
  }
  return numbers;
}

}  // namespace

std::vector<Check> AllServerChecks() {
  std::vector<Check> checks;
  for (auto part : {HandshakeChecks, FrameChecks, CallChecks, LimitChecks,
                    ConnectionChecks}) {
    for (const Check& check : part()) checks.push_back(check);
  }
  // In the order of PROTOCOL.md, except that the shutdown check, which ends
  // the server, comes last.
  std::stable_sort(checks.begin(), checks.end(),
                   [](const Check& a, const Check& b) {
                     const bool a_last = a.needs == Needs::kShutdown;
                     const bool b_last = b.needs == Needs::kShutdown;
                     if (a_last != b_last) return b_last;
                     return IdNumbers(a.id) < IdNumbers(b.id);
                   });
  return checks;
}

std::string WhySkipped(const Check& check, const CheckConfig& config) {
  switch (check.needs) {
    case Needs::kNothing:
      return "";
    case Needs::kUnaryMethod:
      return config.method.empty()
                 ? "needs a unary method (--method and --request)"
                 : "";
    case Needs::kInterop:
      return config.interop
                 ? ""
                 : "needs the interop service (sockrpc.interop.InteropTest)";
    case Needs::kHandshakeTimeout:
      return config.handshake_timeout > absl::ZeroDuration()
                 ? ""
                 : "needs the server's --handshake-timeout";
    case Needs::kShutdown:
      if (config.shutdown_pid == 0) return "needs --shutdown-pid";
      return config.method.empty() ? "needs a unary method" : "";
  }
  return "";
}

}  // namespace conformance
}  // namespace sockrpc
