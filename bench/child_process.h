// Child processes of the benchmark runner: the servers (bench_server,
// raw_server, grpc_bench_server) and the gRPC client (grpc_bench_client),
// each a separate process, started and watched by the tests' ChildProcess
// (tests/testing/child_process.h). Internal to bench/.
#ifndef SOCKRPC_BENCH_CHILD_PROCESS_H_
#define SOCKRPC_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/child_process.h"

namespace sockrpc {
namespace bench {

// ChildServer: a process that prints one "ready WORD..." line once it
// serves, then runs until SIGTERM (the servers print their addresses; the
// gRPC idle-connection holder prints how many connections it holds).
class ChildServer {
 public:
  // Start runs `argv` (argv[0] a path), pinned to CPU `cpu` if cpu >= 0,
  // and waits (up to `ready_seconds`) for its "ready WORD..." line. Null
  // on failure, with a message on stderr.
  static std::unique_ptr<ChildServer> Start(
      const std::vector<std::string>& argv, int cpu = -1,
      double ready_seconds = 10);
  // Sends SIGTERM and reaps the process (SIGKILL after 5 s).
  ~ChildServer();

  pid_t pid() const { return process_->pid(); }
  // The words after "ready", in order: for a server, its addresses.
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  explicit ChildServer(std::unique_ptr<testing::ChildProcess> process)
      : process_(std::move(process)) {}
  std::unique_ptr<testing::ChildProcess> process_;
  std::vector<std::string> addresses_;
};

// RunChild runs `argv` (argv[0] a path) to completion, pinned to CPU `cpu`
// if cpu >= 0, and returns its standard output. It kills the process
// after `timeout_seconds`. Nullopt if it could not start, timed out or
// exited with a non-zero status (with a message on stderr).
std::optional<std::string> RunChild(const std::vector<std::string>& argv,
                                    double timeout_seconds, int cpu = -1);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_CHILD_PROCESS_H_
