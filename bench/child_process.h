// ChildServer: a benchmark server (bench_server, raw_server) run as a
// separate process by the runner. Internal to bench/.
#ifndef SOCKRPC_BENCH_CHILD_PROCESS_H_
#define SOCKRPC_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace sockrpc {
namespace bench {

class ChildServer {
 public:
  // Start runs `argv` (argv[0] a path), pinned to CPU `cpu` if cpu >= 0,
  // and waits (up to 10 s) for its "ready ADDR..." line. Null on failure,
  // with a message on stderr.
  static std::unique_ptr<ChildServer> Start(
      const std::vector<std::string>& argv, int cpu = -1);
  // Sends SIGTERM and reaps the process (SIGKILL after 5 s).
  ~ChildServer();

  pid_t pid() const { return pid_; }
  // The addresses the server printed, in order.
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  explicit ChildServer(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::vector<std::string> addresses_;
};

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_CHILD_PROCESS_H_
