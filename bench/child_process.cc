#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "measure.h"

namespace sockrpc {
namespace bench {

std::unique_ptr<ChildServer> ChildServer::Start(
    const std::vector<std::string>& argv, int cpu) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return nullptr;
  pid_t pid = ::fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    ::dup2(out[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "bench: exec %s: %s\n", args[0],
                 std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  std::unique_ptr<ChildServer> child(new ChildServer(pid));

  // Read up to the first newline, for at most 10 s.
  std::string line;
  int64_t deadline = NowNs() + 10'000'000'000;
  while (line.find('\n') == std::string::npos) {
    int left_ms = static_cast<int>((deadline - NowNs()) / 1'000'000);
    pollfd pfd{out[0], POLLIN, 0};
    if (left_ms <= 0 || ::poll(&pfd, 1, left_ms) <= 0) break;
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  std::istringstream words(line);
  std::string word;
  words >> word;
  if (word != "ready") {
    std::fprintf(stderr, "bench: %s did not start\n", argv[0].c_str());
    return nullptr;
  }
  while (words >> word) child->addresses_.push_back(word);
  return child;
}

ChildServer::~ChildServer() {
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    ::usleep(10'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace bench
}  // namespace sockrpc
