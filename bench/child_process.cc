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
namespace {

// Spawn forks and execs `argv` with its standard output on a pipe, whose
// read end goes to *out. The child is pinned to `cpu` if cpu >= 0. -1 on
// failure.
pid_t Spawn(const std::vector<std::string>& argv, int cpu, int* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    ::dup2(fds[1], STDOUT_FILENO);
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
  ::close(fds[1]);
  *out = fds[0];
  return pid;
}

// ReadUntil appends what `fd` gives to *text until end of file, until
// `stop_at_newline` and a newline arrived, or until `deadline_ns`. True
// if it stopped for end of file or the newline, false on the deadline.
bool ReadUntil(int fd, bool stop_at_newline, int64_t deadline_ns,
               std::string* text) {
  for (;;) {
    if (stop_at_newline && text->find('\n') != std::string::npos) return true;
    int left_ms = static_cast<int>((deadline_ns - NowNs()) / 1'000'000);
    if (left_ms <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, left_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    text->append(buf, static_cast<size_t>(n));
  }
}

int64_t Deadline(double seconds) {
  return NowNs() + static_cast<int64_t>(seconds * 1e9);
}

}  // namespace

std::unique_ptr<ChildServer> ChildServer::Start(
    const std::vector<std::string>& argv, int cpu, double ready_seconds) {
  int out = -1;
  pid_t pid = Spawn(argv, cpu, &out);
  if (pid < 0) return nullptr;
  // From here on the destructor stops the process, whatever happens.
  std::unique_ptr<ChildServer> child(new ChildServer(pid));
  std::string line;
  ReadUntil(out, /*stop_at_newline=*/true, Deadline(ready_seconds), &line);
  ::close(out);
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

std::optional<std::string> RunChild(const std::vector<std::string>& argv,
                                    double timeout_seconds, int cpu) {
  int out = -1;
  pid_t pid = Spawn(argv, cpu, &out);
  if (pid < 0) {
    std::fprintf(stderr, "bench: cannot start %s\n", argv[0].c_str());
    return std::nullopt;
  }
  const int64_t deadline = Deadline(timeout_seconds);
  std::string text;
  bool finished = ReadUntil(out, /*stop_at_newline=*/false, deadline, &text);
  ::close(out);
  // End of output is not yet the exit: wait for that too, up to the
  // deadline.
  int status = 0;
  while (finished && ::waitpid(pid, &status, WNOHANG) != pid) {
    if (NowNs() >= deadline) {
      finished = false;
      break;
    }
    ::usleep(1'000);
  }
  if (!finished) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    std::fprintf(stderr, "bench: %s timed out after %.0f s\n",
                 argv[0].c_str(), timeout_seconds);
    return std::nullopt;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: %s failed (status %d)\n", argv[0].c_str(),
                 status);
    return std::nullopt;
  }
  return text;
}

}  // namespace bench
}  // namespace sockrpc
