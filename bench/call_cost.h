// CallCost: what one warm unary call costs each side in instructions and
// heap allocations, counted by valgrind's callgrind rather than timed, so
// that no scheduler noise blurs it. Used by the benchmark runner (the
// "instructions per call" rows) and by the regression guard
// (tests/cost/call_cost_test.cc). Internal to bench/ and tests/.
//
// How: bench_server and call_loop (a lone blocking caller) both run under
// callgrind, once making `few_calls` unary calls and once `many_calls`;
// each side's figure is the difference of the two runs' totals over the
// difference of their calls, so that start-up, connection set-up and exit
// cancel out and what is left is the warm call's own cost.
#ifndef SOCKRPC_BENCH_CALL_COST_H_
#define SOCKRPC_BENCH_CALL_COST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sockrpc {
namespace bench {

// One side's cost of one warm call.
struct SideCost {
  double instructions = 0;
  // Calls of malloc, calloc, realloc and the aligned allocators (operator
  // new allocates through malloc, so it counts too).
  double allocations = 0;
};

struct CallCost {
  SideCost server;
  SideCost client;
};

struct CallCostSetup {
  // The counting tool: valgrind for MeasureCallCost(), strace for
  // MeasureCallSyscalls().
  std::string tool_path = "/usr/bin/valgrind";
  std::string server_binary;  // bench_server
  std::string client_binary;  // call_loop
  std::string dir;            // scratch: the socket and callgrind's files
  long few_calls = 500;
  long many_calls = 2500;
  long size = 64;  // body bytes of each request
  // Extra bench_server flags ("--stats", "--callback"), and call_loop's
  // ("--callback").
  std::vector<std::string> server_flags;
  std::vector<std::string> client_flags;
};

// MeasureCallCost runs the two pairs of processes (see above) and returns
// the per-call cost of each side. An error says which step failed, with
// what the process printed.
absl::StatusOr<CallCost> MeasureCallCost(const CallCostSetup& setup);

// System calls per warm call of each side, counted the same way (two run
// lengths) with `strace -f` in place of callgrind (`tool_path` names
// strace). Every system call of every thread counts but the timed waits
// that expire: the server watchdog's ticks, 1 ms apart, by the clock and
// not by the call (a few per 100 calls under strace), as its instructions
// are left out of MeasureCallCost()'s.
struct CallSyscalls {
  double server = 0;
  double client = 0;
};
absl::StatusOr<CallSyscalls> MeasureCallSyscalls(const CallCostSetup& setup);

// The totals of one callgrind output file (written with
// --compress-strings=no): instructions executed, less those of functions
// that run by the clock rather than per call (the server's watchdog, see
// call_cost.cc), and calls of the heap allocators.
struct CallgrindTotals {
  double instructions = 0;
  double allocations = 0;
};
absl::StatusOr<CallgrindTotals> ReadCallgrindTotals(const std::string& path);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_CALL_COST_H_
