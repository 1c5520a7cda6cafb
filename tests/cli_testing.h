// Helpers for the end-to-end tests of the `sockrpc` tool: run the real
// binary to completion, and start a real server binary on a socket in a
// test's temporary directory. Test-only.
//
// Thread-safe: free functions. Failures are reported to GoogleTest
// (ADD_FAILURE) and show in the returned values (exit code -1, empty
// address).
#ifndef SOCKRPC_TESTS_CLI_TESTING_H_
#define SOCKRPC_TESTS_CLI_TESTING_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {

// The outcome of one run of the sockrpc tool.
struct CliRun {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs `sockrpc args...` to completion (bounded by kProcessTimeout). With
// `stdin_file`, standard input comes from that file (through /bin/sh, as
// ChildProcess gives children /dev/null).
CliRun RunCli(const std::vector<std::string>& args,
              const std::optional<std::string>& stdin_file = std::nullopt);

// Starts `binary` --listen on a socket in `dir`, plus `flags`, and waits
// until it serves (a test failure, and no process, if it does not).
StartedServer StartServer(const std::string& binary, const TempDir& dir,
                          const std::vector<std::string>& flags = {});

// ServerTest: a test fixture that starts a server binary on a socket in
// its own temporary directory before each test (and kills it after).
class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(std::string binary, std::vector<std::string> flags = {})
      : binary_(std::move(binary)), flags_(std::move(flags)) {}
  void SetUp() override { server_ = StartServer(binary_, dir_, flags_); }
  const std::string& address() const { return server_.address; }

  TempDir dir_;
  StartedServer server_;

 private:
  const std::string binary_;
  const std::vector<std::string> flags_;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_CLI_TESTING_H_
