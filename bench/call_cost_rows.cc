// The per-call cost rows: instructions, heap allocations and system calls
// per warm unary 64 B call, on each side, counted (not timed) by running
// bench_server and call_loop under callgrind, then under strace
// (call_cost.h); system calls through the callback API too. Targets:
// docs/PERFORMANCE.md, "Per-call cost".
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "call_cost.h"
#include "suite.h"

namespace sockrpc {
namespace bench {
namespace {

constexpr const char* kValgrind = "/usr/bin/valgrind";
constexpr const char* kStrace = "/usr/bin/strace";

bool Installed(const char* path, const char* package, const char* rows) {
  struct stat file;
  if (::stat(path, &file) == 0) return true;
  std::fprintf(stderr,
               "bench: no %s: the %s rows are left out (apt-get "
               "install %s)\n",
               path, rows, package);
  return false;
}

// A count per call to the hundredth, as the rows give it: one event in the
// longer run's extra 2,000 calls (a table growing; a lock the watchdog's
// tick happens to meet, a futex wake, in one run and not the other) is not
// one per call.
double PerCall(double count) { return std::round(count * 100) / 100; }

// The two rows "<side> system calls per lone <api> call" for `setup`.
void SyscallRows(const CallCostSetup& setup, const std::string& api,
                 Report* report) {
  absl::StatusOr<CallSyscalls> syscalls = MeasureCallSyscalls(setup);
  if (!syscalls.ok()) {
    std::fprintf(stderr, "bench: system calls per %s call: %s\n", api.c_str(),
                 syscalls.status().ToString().c_str());
    return;
  }
  for (const auto& [side, count] : {std::pair{"server", syscalls->server},
                                    std::pair{"client", syscalls->client}}) {
    report->Add(
        Within(std::string(side) + " system calls per lone " + api + " call",
               "syscalls", PerCall(count), 2, "<= 2"));
  }
}

}  // namespace

void CallCostRows(const Options& options, const std::string& dir,
                  Report* report) {
  CallCostSetup setup;
  setup.server_binary = options.bin + "/bench_server";
  setup.client_binary = options.bin + "/call_loop";
  setup.dir = dir;
  if (Installed(kValgrind, "valgrind", "instructions-per-call")) {
    setup.tool_path = kValgrind;
    absl::StatusOr<CallCost> cost = MeasureCallCost(setup);
    if (!cost.ok()) {
      std::fprintf(stderr, "bench: per-call cost: %s\n",
                   cost.status().ToString().c_str());
    } else {
      report->Add(Within("server instructions per warm unary 64 B call",
                         "instr", cost->server.instructions, 2000, "<= 2,000"));
      report->Add(Within("client instructions per warm unary 64 B call",
                         "instr", cost->client.instructions, 1500, "<= 1,500"));
      report->Add(Within("server heap allocations per warm unary call",
                         "allocs", PerCall(cost->server.allocations), 0,
                         "0"));
      report->Add(Within("client heap allocations per warm unary call",
                         "allocs", PerCall(cost->client.allocations), 1,
                         "<= 1"));
    }
  }
  if (Installed(kStrace, "strace", "system-calls-per-call")) {
    setup.tool_path = kStrace;
    SyscallRows(setup, "blocking", report);
    // The same through the callback API on both sides (each call started
    // by the `done` of the one before, on the channel's event loop).
    CallCostSetup callback = setup;
    callback.server_flags = {"--callback"};
    callback.client_flags = {"--callback"};
    SyscallRows(callback, "callback", report);
  }
}

}  // namespace bench
}  // namespace sockrpc
