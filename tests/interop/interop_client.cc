// interop_client: runs the interop cases against an interop_server.
//
//   interop_client --target ADDRESS --case NAME   one case
//   interop_client --target ADDRESS --case all    every case
//   interop_client --case list                    the case names
//
// One case: prints "PASS NAME" and exits 0, or prints
// "interop_client: FAIL NAME: REASON" on standard error and exits 1. All
// cases: prints one "PASS NAME (N ms)" or "FAIL NAME: REASON" line per
// case and a summary, and exits 0 only if every case passed. Exits 2 for
// bad flags.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "examples/common/tls_flags.h"
#include "tests/interop/interop_cases.h"

ABSL_FLAG(std::string, target, "",
          "the interop_server's address (unix:PATH, ipv4:HOST:PORT, ...)");
ABSL_FLAG(std::string, case, "all",
          "the case to run, \"all\" for every case, or \"list\" to list them");
ABSL_FLAG(size_t, oversized_size, 2u << 20,
          "request bytes of oversized_message: more than the server's "
          "--max_frame_size, at most the client's 4 MiB");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(10),
          "bounds every call a case makes");

namespace {

using sockrpc::interop::CaseOptions;
using sockrpc::interop::InteropCase;

void Print(FILE* out, const std::string& line) {
  std::string text = line + "\n";
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

std::string CaseNames() {
  std::string names;
  for (const InteropCase& c : sockrpc::interop::InteropCases()) {
    absl::StrAppend(&names, "  ", c.name, ": ", c.summary, "\n");
  }
  return names;
}

int RunAll(const CaseOptions& options) {
  int passed = 0;
  const auto& cases = sockrpc::interop::InteropCases();
  for (const InteropCase& c : cases) {
    absl::Time start = absl::Now();
    absl::Status status = c.run(options);
    int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
    if (status.ok()) {
      ++passed;
      Print(stdout, absl::StrCat("PASS ", c.name, " (", ms, " ms)"));
    } else {
      Print(stdout, absl::StrCat("FAIL ", c.name, ": ", status.ToString()));
    }
  }
  Print(stdout, absl::StrCat(passed, " of ", cases.size(), " cases passed"));
  return passed == static_cast<int>(cases.size()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string description = absl::StrCat(
      "Runs interop cases (docs/INTEROP.md) against an interop_server and "
      "prints one line per case. Cases:\n",
      CaseNames());
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"interop_client --target ADDRESS --case NAME|all|list [OPTIONS]",
       description});

  const std::string name = absl::GetFlag(FLAGS_case);
  if (name == "list") {
    for (const InteropCase& c : sockrpc::interop::InteropCases()) {
      Print(stdout, c.name);
    }
    return 0;
  }
  CaseOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.oversized_size = absl::GetFlag(FLAGS_oversized_size);
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  options.channel_options.tls = sockrpc::examples::ClientTlsFromFlags();
  if (options.target.empty()) {
    Print(stderr, "interop_client: --target ADDRESS is required");
    return 2;
  }
  if (name == "all") return RunAll(options);

  const InteropCase* c = sockrpc::interop::FindCase(name);
  if (c == nullptr) {
    Print(stderr, absl::StrCat("interop_client: no case \"", name,
                               "\"; the cases are:\n", CaseNames()));
    return 2;
  }
  absl::Status status = c->run(options);
  if (!status.ok()) {
    Print(stderr, absl::StrCat("interop_client: FAIL ", c->name, ": ",
                               status.ToString()));
    return 1;
  }
  Print(stdout, absl::StrCat("PASS ", c->name));
  return 0;
}
