// ChildProcess: a real binary started by a test (or by the benchmark
// runner, bench/), with its standard output and standard error captured
// through pipes.
//
// A background thread drains both pipes as the child writes, so a chatty
// child never blocks on a full pipe, and the test reads what it printed
// with WaitForLine(). Nothing here sleeps for a guess: every wait ends as
// soon as its condition holds, or with DEADLINE_EXCEEDED at its bound.
//
// The destructor kills (SIGKILL) and reaps a child that is still running,
// so a failing test never leaves a process behind.
//
// Thread-safe: any thread may call any method; the object must outlive
// those calls.
#ifndef SOCKRPC_TESTS_TESTING_CHILD_PROCESS_H_
#define SOCKRPC_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/sync.h"
#include "absl/time/time.h"

namespace sockrpc {
namespace testing {

class ChildProcess {
 public:
  // Start runs `binary` with `args` (not including argv[0]) and the test's
  // environment, standard input from /dev/null, standard output and error
  // into pipes. The child starts with no signals blocked and default
  // dispositions; with `cpu` >= 0 it (every thread it will have) runs on
  // that CPU only.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      int cpu = -1);

  // Kills (SIGKILL) and reaps the child if it has not been reaped yet.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // WaitForLine returns the first complete line (without its newline), on
  // standard output or standard error, that contains `substring`, waiting
  // up to `timeout` for it to be printed. Searches everything printed
  // since the start. NOT_FOUND if both pipes closed (the child exited)
  // without such a line; DEADLINE_EXCEEDED at the bound. Either error's
  // message includes what the child printed, for the test's log.
  absl::StatusOr<std::string> WaitForLine(absl::string_view substring,
                                          absl::Duration timeout);
  // Likewise for the first line that starts with `prefix`.
  absl::StatusOr<std::string> WaitForLineStartingWith(absl::string_view prefix,
                                                      absl::Duration timeout);

  // Everything captured so far.
  std::string StdoutText() const;
  std::string StderrText() const;

  // Signal sends `signal_number` to the child. FAILED_PRECONDITION once it
  // has been reaped.
  absl::Status Signal(int signal_number);

  // Stop sends SIGSTOP and waits (up to `timeout`) until the whole child
  // has stopped, which kill() alone does not ensure: a thread running on
  // another CPU may still finish what it was doing.
  absl::Status Stop(absl::Duration timeout);

  // WaitForExit waits up to `timeout` for the child to exit and returns its
  // wait status (test it with WIFEXITED/WEXITSTATUS/WIFSIGNALED). After the
  // child is reaped, returns the same status again.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);

  // Waits for the pipes to close (the child and any descendant that shared
  // them exited) so that StdoutText()/StderrText() are complete.
  absl::Status WaitForOutputEnd(absl::Duration timeout);

 private:
  ChildProcess(pid_t pid, int stdout_fd, int stderr_fd, int wake_fd_read,
               int wake_fd_write);

  // The reader thread: appends pipe bytes to the buffers until both close
  // or the destructor wakes it.
  void ReadLoop();
  // WaitForLine() and WaitForLineStartingWith().
  absl::StatusOr<std::string> WaitForMatch(absl::string_view text,
                                           bool at_start,
                                           absl::Duration timeout);
  // The first complete line holding `text` (at its start if `at_start`).
  std::optional<std::string> FindLineLocked(absl::string_view text,
                                            bool at_start) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string DescribeOutputLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const pid_t pid_;
  // Pipe read ends, owned by the reader thread until it exits.
  const int stdout_fd_;
  const int stderr_fd_;
  // A self-pipe that tells the reader thread to stop.
  const int wake_fd_read_;
  const int wake_fd_write_;

  mutable sockrpc::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  bool output_ended_ ABSL_GUARDED_BY(mu_) = false;

  sockrpc::Mutex wait_mu_;  // serializes waitpid()
  bool reaped_ ABSL_GUARDED_BY(wait_mu_) = false;
  int wait_status_ ABSL_GUARDED_BY(wait_mu_) = 0;

  std::thread reader_;
};

// The outcome of a program run to completion.
struct ProgramRun {
  int wait_status = 0;  // as waitpid() gives it; see DescribeWaitStatus()
  std::string stdout_text;
  std::string stderr_text;
};

// RunProgram runs `binary` (a path) with `args` (on CPU `cpu` only if it
// is >= 0) until it exits and its output ends, waiting up to `timeout` for
// each; past that it is killed and the error says why.
absl::StatusOr<ProgramRun> RunProgram(const std::string& binary,
                                      const std::vector<std::string>& args,
                                      absl::Duration timeout, int cpu = -1);

// DescribeWaitStatus renders a wait status for test messages:
// "exited with 1", "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_CHILD_PROCESS_H_
