#include "call_cost.h"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace sockrpc {
namespace bench {
namespace {

using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::RunProgram;

// Under callgrind both processes run some 50 times slower than natively.
constexpr absl::Duration kReadyTimeout = absl::Seconds(60);
constexpr absl::Duration kRunTimeout = absl::Seconds(300);

// The heap allocators whose calls count as allocations.
bool IsAllocator(absl::string_view function) {
  // Callgrind names a recursion level "name'2".
  function = function.substr(0, function.find('\''));
  constexpr absl::string_view kAllocators[] = {
      "malloc",        "calloc",         "realloc", "memalign",
      "aligned_alloc", "posix_memalign", "valloc"};
  for (absl::string_view allocator : kAllocators) {
    if (function == allocator) return true;
  }
  return false;
}

std::vector<std::string> CallgrindArgs(const std::string& out_file) {
  return {"--tool=callgrind", "--callgrind-out-file=" + out_file,
          "--compress-strings=no", "--compress-pos=no"};
}

struct RunTotals {
  CallgrindTotals server;
  CallgrindTotals client;
};

// One run: the server under callgrind, the client under callgrind making
// `calls` calls, then SIGTERM to the server, whose callgrind writes its
// file as it exits.
absl::StatusOr<RunTotals> RunOnce(const CallCostSetup& setup, long calls) {
  const std::string tag = absl::StrCat(calls);
  const std::string server_out = setup.dir + "/callgrind.server." + tag;
  const std::string client_out = setup.dir + "/callgrind.client." + tag;
  const std::string address = "unix:" + setup.dir + "/cost" + tag + ".sock";

  std::vector<std::string> server_args = CallgrindArgs(server_out);
  server_args.insert(server_args.end(),
                     {setup.server_binary, "--listen", address});
  server_args.insert(server_args.end(), setup.server_flags.begin(),
                     setup.server_flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> server =
      ChildProcess::Start(setup.valgrind, server_args);
  if (!server.ok()) return server.status();
  absl::StatusOr<std::string> ready =
      (*server)->WaitForLineStartingWith("ready ", kReadyTimeout);
  if (!ready.ok()) {
    return absl::Status(ready.status().code(),
                        "bench_server under callgrind did not start: " +
                            std::string(ready.status().message()));
  }

  std::vector<std::string> client_args = CallgrindArgs(client_out);
  client_args.insert(client_args.end(),
                     {setup.client_binary, address, absl::StrCat(calls),
                      absl::StrCat(setup.size)});
  absl::StatusOr<ProgramRun> client =
      RunProgram(setup.valgrind, client_args, kRunTimeout);
  if (!client.ok()) return client.status();
  if (!WIFEXITED(client->wait_status) || WEXITSTATUS(client->wait_status)) {
    return absl::InternalError(absl::StrCat(
        "call_loop under callgrind ", DescribeWaitStatus(client->wait_status),
        ": ", client->stderr_text));
  }

  absl::Status signalled = (*server)->Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<int> exited = (*server)->WaitForExit(kRunTimeout);
  if (!exited.ok()) return exited.status();
  if (!WIFEXITED(*exited) || WEXITSTATUS(*exited) != 0) {
    return absl::InternalError(absl::StrCat("bench_server under callgrind ",
                                            DescribeWaitStatus(*exited), ": ",
                                            (*server)->StderrText()));
  }

  absl::StatusOr<CallgrindTotals> server_totals =
      ReadCallgrindTotals(server_out);
  if (!server_totals.ok()) return server_totals.status();
  absl::StatusOr<CallgrindTotals> client_totals =
      ReadCallgrindTotals(client_out);
  if (!client_totals.ok()) return client_totals.status();
  return RunTotals{*server_totals, *client_totals};
}

SideCost PerCall(const CallgrindTotals& few, const CallgrindTotals& many,
                 long calls) {
  SideCost cost;
  cost.instructions = (many.instructions - few.instructions) / calls;
  cost.allocations = (many.allocations - few.allocations) / calls;
  return cost;
}

}  // namespace

absl::StatusOr<CallgrindTotals> ReadCallgrindTotals(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("no callgrind output " + path);
  CallgrindTotals totals;
  bool have_total = false;
  bool callee_is_allocator = false;
  std::string line;
  while (std::getline(file, line)) {
    absl::string_view view = line;
    if (absl::ConsumePrefix(&view, "cfn=")) {
      callee_is_allocator = IsAllocator(view);
    } else if (absl::ConsumePrefix(&view, "calls=")) {
      // "calls=COUNT TARGET": the call line after a "cfn=".
      double count;
      if (callee_is_allocator &&
          absl::SimpleAtod(view.substr(0, view.find(' ')), &count)) {
        totals.allocations += count;
      }
      callee_is_allocator = false;
    } else if (absl::ConsumePrefix(&view, "summary: ") ||
               absl::ConsumePrefix(&view, "totals: ")) {
      have_total = absl::SimpleAtod(view, &totals.instructions);
    }
  }
  if (!have_total) {
    return absl::DataLossError("no instruction total in " + path);
  }
  return totals;
}

absl::StatusOr<CallCost> MeasureCallCost(const CallCostSetup& setup) {
  if (setup.many_calls <= setup.few_calls) {
    return absl::InvalidArgumentError("many_calls must exceed few_calls");
  }
  absl::StatusOr<RunTotals> few = RunOnce(setup, setup.few_calls);
  if (!few.ok()) return few.status();
  absl::StatusOr<RunTotals> many = RunOnce(setup, setup.many_calls);
  if (!many.ok()) return many.status();
  const long calls = setup.many_calls - setup.few_calls;
  CallCost cost;
  cost.server = PerCall(few->server, many->server, calls);
  cost.client = PerCall(few->client, many->client, calls);
  return cost;
}

}  // namespace bench
}  // namespace sockrpc
