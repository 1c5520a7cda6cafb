#include "call_cost.h"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// The counting tool's arguments before the program: callgrind's, or
// strace's.
enum class Tool { kCallgrind, kStrace };
// Functions whose instructions do not count: they run by the clock, not
// per call. The server's watchdog ticks every millisecond; natively that
// is a tick per fifty calls or so, but under callgrind a call takes long
// enough for one to fall on every few, which would count some 250
// instructions a call that are not the call's.
// (Matched by its name's start: link-time optimization may make a copy of
// it, named "... [clone .isra.0]" or the like.)
bool IsClockDriven(absl::string_view function) {
  return absl::StartsWith(function, "sockrpc::ServerRuntime::Watch()");
}

std::vector<std::string> ToolArgs(Tool tool, const std::string& out_file) {
  if (tool == Tool::kStrace) return {"-f", "-o", out_file};
  return {"--tool=callgrind", "--callgrind-out-file=" + out_file,
          "--compress-strings=no", "--compress-pos=no"};
}

// The output files of one run.
struct RunFiles {
  std::string server;
  std::string client;
};

// One run: the server under the tool, the client under the tool making
// `calls` calls, then SIGTERM to the server, whose tool writes its file as
// it exits. strace does not pass SIGTERM on, so it attaches to a server
// started apart, and SIGINT detaches it (writing its file) before the
// server's SIGTERM.
absl::StatusOr<RunFiles> RunOnce(const CallCostSetup& setup, Tool tool,
                                 long calls) {
  const std::string tag =
      absl::StrCat(tool == Tool::kStrace ? "strace" : "callgrind", ".", calls);
  const std::string server_out = setup.dir + "/" + tag + ".server";
  const std::string client_out = setup.dir + "/" + tag + ".client";
  const std::string address = "unix:" + setup.dir + "/cost." + tag + ".sock";
  const char* const tool_name = tool == Tool::kStrace ? "strace" : "callgrind";

  std::vector<std::string> server_args = {"--listen", address};
  server_args.insert(server_args.end(), setup.server_flags.begin(),
                     setup.server_flags.end());
  if (tool == Tool::kCallgrind) {
    std::vector<std::string> tool_args = ToolArgs(tool, server_out);
    tool_args.push_back(setup.server_binary);
    server_args.insert(server_args.begin(), tool_args.begin(), tool_args.end());
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> server = ChildProcess::Start(
      tool == Tool::kCallgrind ? setup.tool_path : setup.server_binary,
      server_args);
  if (!server.ok()) return server.status();
  absl::StatusOr<std::string> ready =
      (*server)->WaitForLineStartingWith("ready ", kReadyTimeout);
  if (!ready.ok()) {
    return absl::Status(
        ready.status().code(),
        absl::StrCat("bench_server under ", tool_name,
                     " did not start: ", ready.status().message()));
  }

  std::unique_ptr<ChildProcess> tracer;
  if (tool == Tool::kStrace) {
    std::vector<std::string> tracer_args = ToolArgs(tool, server_out);
    tracer_args.insert(tracer_args.end(),
                       {"-p", absl::StrCat((*server)->pid())});
    absl::StatusOr<std::unique_ptr<ChildProcess>> started =
        ChildProcess::Start(setup.tool_path, tracer_args);
    if (!started.ok()) return started.status();
    tracer = std::move(*started);
    // "strace: Process PID attached with N threads", once all are traced.
    absl::StatusOr<std::string> attached =
        tracer->WaitForLine("attached", kReadyTimeout);
    if (!attached.ok()) return attached.status();
  }

  std::vector<std::string> client_args = ToolArgs(tool, client_out);
  client_args.push_back(setup.client_binary);
  client_args.insert(client_args.end(), setup.client_flags.begin(),
                     setup.client_flags.end());
  client_args.insert(client_args.end(),
                     {address, absl::StrCat(calls), absl::StrCat(setup.size)});
  absl::StatusOr<ProgramRun> client =
      RunProgram(setup.tool_path, client_args, kRunTimeout);
  if (!client.ok()) return client.status();
  if (!WIFEXITED(client->wait_status) || WEXITSTATUS(client->wait_status)) {
    return absl::InternalError(absl::StrCat(
        "call_loop under ", tool_name, " ",
        DescribeWaitStatus(client->wait_status), ": ", client->stderr_text));
  }

  if (tracer != nullptr) {
    absl::Status detached = tracer->Signal(SIGINT);
    if (!detached.ok()) return detached;
    absl::StatusOr<int> tracer_exit = tracer->WaitForExit(kRunTimeout);
    if (!tracer_exit.ok()) return tracer_exit.status();
  }
  absl::Status signalled = (*server)->Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<int> exited = (*server)->WaitForExit(kRunTimeout);
  if (!exited.ok()) return exited.status();
  if (!WIFEXITED(*exited) || WEXITSTATUS(*exited) != 0) {
    return absl::InternalError(absl::StrCat("bench_server under ", tool_name,
                                            " ", DescribeWaitStatus(*exited),
                                            ": ", (*server)->StderrText()));
  }
  return RunFiles{server_out, client_out};
}

// The system calls of a trace written by `strace -f -o`, one a line
// ("PID name(args) = result"; a call that another thread's line cut in two
// ends on a "PID <... name resumed> ..." line, which is not another call),
// less the timed waits that expired: the server's watchdog ticks every
// millisecond (a futex wait that times out), by the clock and not by the
// call, and under strace a call takes long enough for a tick to fall on
// every few. (IsClockDriven() leaves the same ticks out of instructions.)
absl::StatusOr<double> ReadStraceTotal(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("no strace output " + path);
  double calls = 0;
  std::string line;
  while (std::getline(file, line)) {
    absl::string_view view = line;
    const size_t space = view.find(' ');
    if (space == absl::string_view::npos) continue;
    view = absl::StripLeadingAsciiWhitespace(view.substr(space));  // the PID
    if (absl::StartsWith(view, "+++") || absl::StartsWith(view, "---")) {
      continue;  // an exit or a signal
    }
    const bool resumed = absl::StartsWith(view, "<... ");
    if (!resumed) ++calls;
    // (A wait a signal cut short goes on as "restart_syscall(<...
    // resuming interrupted futex ...>)".)
    const bool futex =
        absl::StartsWith(view, resumed ? "<... futex " : "futex(") ||
        (absl::StartsWith(
             view, resumed ? "<... restart_syscall " : "restart_syscall(") &&
         (resumed || absl::StrContains(view, "futex")));
    if (futex && absl::StrContains(view, "= -1 ETIMEDOUT")) --calls;
  }
  if (calls <= 0) return absl::DataLossError("no system calls in " + path);
  return calls;
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
  double clock_driven = 0;
  bool have_total = false;
  bool callee_is_allocator = false;
  bool callee_is_clock_driven = false;
  bool next_is_call_cost = false;  // the line after "calls=": its cost
  std::string line;
  while (std::getline(file, line)) {
    absl::string_view view = line;
    if (next_is_call_cost) {
      // "POSITION COST": the call's inclusive instructions.
      next_is_call_cost = false;
      double cost;
      if (absl::SimpleAtod(view.substr(view.rfind(' ') + 1), &cost)) {
        clock_driven += cost;
      }
    } else if (absl::ConsumePrefix(&view, "cfn=")) {
      callee_is_allocator = IsAllocator(view);
      callee_is_clock_driven = IsClockDriven(view);
    } else if (absl::ConsumePrefix(&view, "calls=")) {
      // "calls=COUNT TARGET": the call line after a "cfn=".
      double count;
      if (callee_is_allocator &&
          absl::SimpleAtod(view.substr(0, view.find(' ')), &count)) {
        totals.allocations += count;
      }
      next_is_call_cost = callee_is_clock_driven;
      callee_is_allocator = false;
      callee_is_clock_driven = false;
    } else if (absl::ConsumePrefix(&view, "summary: ") ||
               absl::ConsumePrefix(&view, "totals: ")) {
      have_total = absl::SimpleAtod(view, &totals.instructions);
    }
  }
  if (!have_total) {
    return absl::DataLossError("no instruction total in " + path);
  }
  totals.instructions -= clock_driven;
  return totals;
}

namespace {

// Both runs (few calls, then many) under `tool`, each side's output read
// by `read` into totals[run][side] (side 0 the server, 1 the client).
template <typename Totals, typename Reader>
absl::Status RunBoth(const CallCostSetup& setup, Tool tool, Reader read,
                     Totals (&totals)[2][2]) {
  if (setup.many_calls <= setup.few_calls) {
    return absl::InvalidArgumentError("many_calls must exceed few_calls");
  }
  for (int run = 0; run < 2; ++run) {
    absl::StatusOr<RunFiles> files =
        RunOnce(setup, tool, run == 0 ? setup.few_calls : setup.many_calls);
    if (!files.ok()) return files.status();
    for (int side = 0; side < 2; ++side) {
      absl::StatusOr<Totals> totals_read =
          read(side == 0 ? files->server : files->client);
      if (!totals_read.ok()) return totals_read.status();
      totals[run][side] = *totals_read;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CallCost> MeasureCallCost(const CallCostSetup& setup) {
  CallgrindTotals totals[2][2];
  absl::Status ran =
      RunBoth(setup, Tool::kCallgrind, ReadCallgrindTotals, totals);
  if (!ran.ok()) return ran;
  const long calls = setup.many_calls - setup.few_calls;
  CallCost cost;
  cost.server = PerCall(totals[0][0], totals[1][0], calls);
  cost.client = PerCall(totals[0][1], totals[1][1], calls);
  return cost;
}

absl::StatusOr<CallSyscalls> MeasureCallSyscalls(const CallCostSetup& setup) {
  double totals[2][2];
  absl::Status ran = RunBoth(setup, Tool::kStrace, ReadStraceTotal, totals);
  if (!ran.ok()) return ran;
  const double calls = static_cast<double>(setup.many_calls - setup.few_calls);
  return CallSyscalls{(totals[1][0] - totals[0][0]) / calls,
                      (totals[1][1] - totals[0][1]) / calls};
}

}  // namespace bench
}  // namespace sockrpc
