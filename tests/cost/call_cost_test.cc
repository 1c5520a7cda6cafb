// The regression guard of the per-call cost: instructions and heap
// allocations per warm unary 64 B call, each side, counted under callgrind
// (bench/call_cost.h), and the callback client's system calls, counted
// under strace, against the budgets of call_cost_budgets.txt. No timing:
// counts do not depend on the machine's load.
//
// Skipped, saying so, where valgrind is not installed (./build.sh installs
// it). Registered only in Release builds, the build the budgets describe:
// with link-time optimization (SOCKRPC_LTO), and without.
#include "call_cost.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "transport/receive_ring.h"

namespace sockrpc {
namespace {

constexpr char kValgrind[] = "/usr/bin/valgrind";
constexpr char kStrace[] = "/usr/bin/strace";
// A figure may exceed its budget by this much before the guard fails; and
// by a twentieth more, for a budget of 0 allocations and the odd one-off
// (a run's timer, say) that a difference of two runs shows as a fraction.
constexpr double kTolerance = 1.10;
constexpr double kSlack = 0.05;

// The "name value" lines of the budgets file.
std::map<std::string, double> ReadBudgets() {
  std::map<std::string, double> budgets;
  std::ifstream file(SOCKRPC_CALL_COST_BUDGETS);
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    double value;
    if (fields >> name >> value) budgets[name] = value;
  }
  return budgets;
}

void ExpectWithinBudget(const std::map<std::string, double>& budgets,
                        const std::string& name, double measured) {
  auto found = budgets.find(name);
  ASSERT_NE(found, budgets.end())
      << name << " has no budget in " << SOCKRPC_CALL_COST_BUDGETS;
  EXPECT_LE(measured, found->second * kTolerance + kSlack)
      << name << " per warm unary 64 B call: " << measured << ", budget "
      << found->second << " (+10%) in " << SOCKRPC_CALL_COST_BUDGETS;
  // Shown on success too, for whoever updates the budgets.
  std::printf("%s %.1f (budget %.0f)\n", name.c_str(), measured, found->second);
}

// What runs bench_server at `server_binary` and call_loop at
// `client_binary` under `tool`, in `dir`.
bench::CallCostSetup SetupFor(const char* tool, const char* server_binary,
                              const char* client_binary,
                              const testing::TempDir& dir) {
  bench::CallCostSetup setup;
  setup.tool_path = tool;
  setup.server_binary = server_binary;
  setup.client_binary = client_binary;
  setup.dir = dir.path();
  return setup;
}

// Measures bench_server and call_loop as built at `server_binary` and
// `client_binary` against the budgets named "<side>_<figure><suffix>":
// both sides', or with `server_flags` (a form of the server) the server's
// alone.
void ExpectCallWithinBudgets(const char* server_binary,
                             const char* client_binary,
                             const std::string& suffix,
                             std::vector<std::string> server_flags = {}) {
  struct stat valgrind;
  if (::stat(kValgrind, &valgrind) != 0) {
    GTEST_SKIP() << "valgrind is not installed (apt-get install valgrind): "
                    "the per-call instruction budgets are not checked";
  }
  const std::map<std::string, double> budgets = ReadBudgets();
  ASSERT_FALSE(budgets.empty())
      << "no budgets in " << SOCKRPC_CALL_COST_BUDGETS;

  testing::TempDir dir;
  bench::CallCostSetup setup =
      SetupFor(kValgrind, server_binary, client_binary, dir);
  const bool server_only = !server_flags.empty();
  setup.server_flags = std::move(server_flags);
  absl::StatusOr<bench::CallCost> cost = bench::MeasureCallCost(setup);
  ASSERT_TRUE(cost.ok()) << cost.status();

  ExpectWithinBudget(budgets, "server_instructions" + suffix,
                     cost->server.instructions);
  ExpectWithinBudget(budgets, "server_allocations" + suffix,
                     cost->server.allocations);
  if (server_only) return;
  ExpectWithinBudget(budgets, "client_instructions" + suffix,
                     cost->client.instructions);
  ExpectWithinBudget(budgets, "client_allocations" + suffix,
                     cost->client.allocations);
}

// The two programs as this build links them: with link-time optimization
// where the build uses it (SOCKRPC_LTO), as our own programs are.
TEST(CallCostTest, WarmUnaryCallStaysWithinItsBudgetOnBothSides) {
  ExpectCallWithinBudgets(SOCKRPC_BENCH_SERVER, SOCKRPC_CALL_LOOP,
                          SOCKRPC_CALL_COST_LTO ? "" : "_without_lto");
}

// The server's side through the callback API (bench_server --callback:
// Echo finishes its DefaultReactor() before it returns, the common unary
// handler), which must cost about what a blocking handler does.
TEST(CallCostTest, WarmUnaryCallbackCallStaysWithinItsBudgetOnTheServer) {
  ExpectCallWithinBudgets(
      SOCKRPC_BENCH_SERVER, SOCKRPC_CALL_LOOP,
      SOCKRPC_CALL_COST_LTO ? "_callback" : "_callback_without_lto",
      {"--callback"});
}

// A lone callback call chain (each call started by the `done` of the one
// before, on the channel's event loop) against the callback server: the
// client's loop makes one write and one wait that reads (its solo
// connection's ring, client/client_event_loop.h), as a blocking caller
// does; epoll_wait() and recvfrom() would make three.
TEST(CallCostTest, LoneCallbackCallMakesOneWriteAndOneWaitOnTheClient) {
  struct stat strace;
  if (::stat(kStrace, &strace) != 0) {
    GTEST_SKIP() << "strace is not installed (apt-get install strace): "
                    "the system calls per call are not counted";
  }
  if (ReceiveRing::Create(/*wake_fd=*/-1) == nullptr) {
    GTEST_SKIP() << "io_uring cannot be used here: the event loop waits in "
                    "epoll_wait() and reads with recvfrom()";
  }
  const std::map<std::string, double> budgets = ReadBudgets();
  testing::TempDir dir;
  bench::CallCostSetup setup =
      SetupFor(kStrace, SOCKRPC_BENCH_SERVER, SOCKRPC_CALL_LOOP, dir);
  setup.server_flags = {"--callback"};
  setup.client_flags = {"--callback"};
  absl::StatusOr<bench::CallSyscalls> syscalls =
      bench::MeasureCallSyscalls(setup);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  ExpectWithinBudget(budgets, "client_syscalls_callback", syscalls->client);
}

#ifdef SOCKRPC_BENCH_SERVER_WITHOUT_LTO
// The same two programs linked without it, as an application that does
// not use LTO links our libraries.
TEST(CallCostTest, WarmUnaryCallWithoutLtoStaysWithinItsBudgetOnBothSides) {
  ExpectCallWithinBudgets(SOCKRPC_BENCH_SERVER_WITHOUT_LTO,
                          SOCKRPC_CALL_LOOP_WITHOUT_LTO, "_without_lto");
  ExpectCallWithinBudgets(SOCKRPC_BENCH_SERVER_WITHOUT_LTO,
                          SOCKRPC_CALL_LOOP_WITHOUT_LTO,
                          "_callback_without_lto", {"--callback"});
}
#endif

}  // namespace
}  // namespace sockrpc
