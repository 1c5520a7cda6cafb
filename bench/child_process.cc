#include "child_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sockrpc {
namespace bench {
namespace {

using ::sockrpc::testing::ChildProcess;

// What a child printed on standard error, for a failure message.
void PrintErrors(const std::string& name, const std::string& errors) {
  if (!errors.empty()) {
    std::fprintf(stderr, "%s said:\n%s", name.c_str(), errors.c_str());
  }
}

}  // namespace

std::unique_ptr<ChildServer> ChildServer::Start(
    const std::vector<std::string>& argv, int cpu, double ready_seconds) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(
      argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()), cpu);
  if (!process.ok()) {
    std::fprintf(stderr, "bench: %s\n", process.status().ToString().c_str());
    return nullptr;
  }
  // From here on the destructor stops the process, whatever happens.
  std::unique_ptr<ChildServer> child(new ChildServer(*std::move(process)));
  absl::StatusOr<std::string> line = child->process_->WaitForLineStartingWith(
      "ready", absl::Seconds(ready_seconds));
  std::istringstream words(line.ok() ? *line : "");
  std::string word;
  words >> word;
  if (word != "ready") {
    std::fprintf(stderr, "bench: %s did not start\n", argv[0].c_str());
    PrintErrors(argv[0], child->process_->StderrText());
    return nullptr;
  }
  while (words >> word) child->addresses_.push_back(word);
  return child;
}

ChildServer::~ChildServer() {
  // A graceful stop first; the ChildProcess kills what does not stop.
  if (process_->Signal(SIGTERM).ok()) {
    (void)process_->WaitForExit(absl::Seconds(5));
  }
}

std::optional<std::string> RunChild(const std::vector<std::string>& argv,
                                    double timeout_seconds, int cpu) {
  absl::StatusOr<testing::ProgramRun> run = testing::RunProgram(
      argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()),
      absl::Seconds(timeout_seconds), cpu);
  if (!run.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", argv[0].c_str(),
                 run.status().ToString().c_str());
    return std::nullopt;
  }
  if (!WIFEXITED(run->wait_status) || WEXITSTATUS(run->wait_status) != 0) {
    std::fprintf(stderr, "bench: %s failed (%s)\n", argv[0].c_str(),
                 testing::DescribeWaitStatus(run->wait_status).c_str());
    PrintErrors(argv[0], run->stderr_text);
    return std::nullopt;
  }
  return std::move(run->stdout_text);
}

}  // namespace bench
}  // namespace sockrpc
