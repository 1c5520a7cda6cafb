#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace sockrpc {
namespace testing {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Milliseconds from now until `deadline`, for poll(), never negative.
int PollTimeoutMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

void CloseFd(int fd) {
  if (fd >= 0) ::close(fd);
}

// The file actions and attributes of posix_spawn, freed on scope exit.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& binary, const std::vector<std::string>& args, int cpu) {
  int out_pipe[2];
  int err_pipe[2];
  int wake_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    CloseFd(out_pipe[0]);
    CloseFd(out_pipe[1]);
    return ErrnoStatus("pipe2", err);
  }
  if (pipe2(wake_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      CloseFd(fd);
    }
    return ErrnoStatus("pipe2", err);
  }

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err_pipe[1], STDERR_FILENO);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
                            SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, signal_number);
  }
  posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  // A child inherits the CPU mask of the thread that spawns it: pin this
  // thread for the spawn, then give it its own mask back.
  cpu_set_t own_cpus;
  const bool pin = cpu >= 0;
  if (pin) {
    cpu_set_t only;
    CPU_ZERO(&only);
    int err = 0;
    if (cpu >= CPU_SETSIZE) {
      err = EINVAL;
    } else if (sched_getaffinity(0, sizeof(own_cpus), &own_cpus) != 0) {
      err = errno;
    } else {
      CPU_SET(cpu, &only);
      if (sched_setaffinity(0, sizeof(only), &only) != 0) err = errno;
    }
    if (err != 0) {
      for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1],
                     wake_pipe[0], wake_pipe[1]}) {
        CloseFd(fd);
      }
      return ErrnoStatus(absl::StrCat("pinning to CPU ", cpu), err);
    }
  }
  pid_t pid = -1;
  int spawn_error = posix_spawn(&pid, binary.c_str(), &setup.actions,
                                &setup.attributes, argv.data(), environ);
  if (pin && sched_setaffinity(0, sizeof(own_cpus), &own_cpus) != 0) {
    // This thread would stay on the child's CPU: never go on like that.
    std::perror("child_process: restoring the CPU mask");
    std::abort();
  }
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (spawn_error != 0) {
    for (int fd : {out_pipe[0], err_pipe[0], wake_pipe[0], wake_pipe[1]}) {
      CloseFd(fd);
    }
    return ErrnoStatus(absl::StrCat("posix_spawn ", binary), spawn_error);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(
      pid, out_pipe[0], err_pipe[0], wake_pipe[0], wake_pipe[1]));
}

ChildProcess::ChildProcess(pid_t pid, int stdout_fd, int stderr_fd,
                           int wake_fd_read, int wake_fd_write)
    : pid_(pid),
      stdout_fd_(stdout_fd),
      stderr_fd_(stderr_fd),
      wake_fd_read_(wake_fd_read),
      wake_fd_write_(wake_fd_write) {
  reader_ = std::thread(&ChildProcess::ReadLoop, this);
}

ChildProcess::~ChildProcess() {
  {
    sockrpc::MutexLock lock(&wait_mu_);
    if (!reaped_) {
      ::kill(pid_, SIGKILL);  // also ends a SIGSTOPped child
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      wait_status_ = status;
    }
  }
  // The reader stops at the pipes' end or at this wake-up, whichever is
  // first (a grandchild could hold the pipes open).
  char byte = 0;
  (void)!::write(wake_fd_write_, &byte, 1);
  reader_.join();
  CloseFd(wake_fd_read_);
  CloseFd(wake_fd_write_);
}

void ChildProcess::ReadLoop() {
  pollfd fds[3] = {{stdout_fd_, POLLIN, 0},
                   {stderr_fd_, POLLIN, 0},
                   {wake_fd_read_, POLLIN, 0}};
  int open_pipes = 2;
  while (open_pipes > 0) {
    int ready = ::poll(fds, 3, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;  // the destructor wants us gone
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
        continue;
      }
      sockrpc::MutexLock lock(&mu_);
      (i == 0 ? stdout_ : stderr_).append(buffer, static_cast<size_t>(got));
    }
  }
  for (int i = 0; i < 2; ++i) CloseFd(fds[i].fd);
  sockrpc::MutexLock lock(&mu_);
  output_ended_ = true;
}

std::optional<std::string> ChildProcess::FindLineLocked(absl::string_view text,
                                                        bool at_start) const {
  for (const std::string* output : {&stdout_, &stderr_}) {
    absl::string_view rest = *output;
    // Only complete lines, unless the output has ended.
    while (!rest.empty()) {
      size_t newline = rest.find('\n');
      if (newline == absl::string_view::npos && !output_ended_) break;
      absl::string_view line = rest.substr(0, newline);
      if (at_start ? absl::StartsWith(line, text)
                   : line.find(text) != absl::string_view::npos) {
        return std::string(line);
      }
      if (newline == absl::string_view::npos) break;
      rest.remove_prefix(newline + 1);
    }
  }
  return std::nullopt;
}

std::string ChildProcess::DescribeOutputLocked() const {
  return absl::StrCat("[stdout]\n", stdout_, "[stderr]\n", stderr_);
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(
    absl::string_view substring, absl::Duration timeout) {
  return WaitForMatch(substring, /*at_start=*/false, timeout);
}

absl::StatusOr<std::string> ChildProcess::WaitForLineStartingWith(
    absl::string_view prefix, absl::Duration timeout) {
  return WaitForMatch(prefix, /*at_start=*/true, timeout);
}

absl::StatusOr<std::string> ChildProcess::WaitForMatch(absl::string_view text,
                                                       bool at_start,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockrpc::MutexLock lock(&mu_);
  std::optional<std::string> line;
  auto found_or_ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    line = FindLineLocked(text, at_start);
    return line.has_value() || output_ended_;
  };
  mu_.AwaitWithDeadline(found_or_ended, deadline);
  if (line.has_value()) return *line;
  line = FindLineLocked(text, at_start);
  if (line.has_value()) return *line;
  std::string where =
      absl::StrCat("pid ", pid_, " printed no line ",
                   at_start ? "starting with" : "with", " \"", text, "\"");
  if (output_ended_) {
    return absl::NotFoundError(absl::StrCat(
        where, " before its output ended\n", DescribeOutputLocked()));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(where, " within ", absl::FormatDuration(timeout), "\n",
                   DescribeOutputLocked()));
}

std::string ChildProcess::StdoutText() const {
  sockrpc::MutexLock lock(&mu_);
  return stdout_;
}

std::string ChildProcess::StderrText() const {
  sockrpc::MutexLock lock(&mu_);
  return stderr_;
}

absl::Status ChildProcess::Signal(int signal_number) {
  sockrpc::MutexLock lock(&wait_mu_);
  if (reaped_) {
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid_, " has already been reaped"));
  }
  if (::kill(pid_, signal_number) != 0) return ErrnoStatus("kill", errno);
  return absl::OkStatus();
}

absl::Status ChildProcess::Stop(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockrpc::MutexLock lock(&wait_mu_);
  if (reaped_) {
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid_, " has already been reaped"));
  }
  if (::kill(pid_, SIGSTOP) != 0) return ErrnoStatus("kill", errno);
  // The kernel reports the stop to waitpid(WUNTRACED) once every thread
  // has stopped. There is no descriptor to wait on for that, so check
  // every millisecond, up to the bound.
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WUNTRACED | WNOHANG);
    if (done == pid_) {
      if (WIFSTOPPED(status)) return absl::OkStatus();
      reaped_ = true;
      wait_status_ = status;
      return absl::FailedPreconditionError(
          absl::StrCat("pid ", pid_, " ", DescribeWaitStatus(status),
                       " instead of stopping"));
    }
    if (done < 0 && errno != EINTR) return ErrnoStatus("waitpid", errno);
    if (absl::Now() >= deadline) break;
    pollfd none{-1, 0, 0};
    (void)::poll(&none, 1, 1);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "pid ", pid_, " did not stop within ", absl::FormatDuration(timeout)));
}

absl::StatusOr<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockrpc::MutexLock lock(&wait_mu_);
  if (reaped_) return wait_status_;
  // A pidfd becomes readable when the child exits: no polling loop. The
  // child is not reaped yet, so its pid cannot have been reused.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      wait_status_ = status;
      CloseFd(pidfd);
      return status;
    }
    if (done < 0 && errno != EINTR) {
      int err = errno;
      CloseFd(pidfd);
      return ErrnoStatus("waitpid", err);
    }
    if (absl::Now() >= deadline) break;
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      (void)::poll(&pfd, 1, PollTimeoutMs(deadline));
    } else {
      // No pidfd (old kernel): check again shortly, still bounded.
      pollfd none{-1, 0, 0};
      (void)::poll(&none, 1, std::min(5, PollTimeoutMs(deadline)));
    }
  }
  CloseFd(pidfd);
  return absl::DeadlineExceededError(
      absl::StrCat("pid ", pid_, " did not exit within ",
                   absl::FormatDuration(timeout)));
}

absl::Status ChildProcess::WaitForOutputEnd(absl::Duration timeout) {
  sockrpc::MutexLock lock(&mu_);
  if (mu_.AwaitWithDeadline([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return output_ended_; }, absl::Now() + timeout)) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the output of pid ", pid_, " did not end within ",
                   absl::FormatDuration(timeout)));
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exited with ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  }
  return absl::StrCat("wait status ", wait_status);
}

absl::StatusOr<ProgramRun> RunProgram(const std::string& binary,
                                      const std::vector<std::string>& args,
                                      absl::Duration timeout, int cpu) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(binary, args, cpu);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> status = (*process)->WaitForExit(timeout);
  if (!status.ok()) return status.status();
  absl::Status ended = (*process)->WaitForOutputEnd(timeout);
  if (!ended.ok()) return ended;
  return ProgramRun{*status, (*process)->StdoutText(),
                    (*process)->StderrText()};
}

}  // namespace testing
}  // namespace sockrpc
