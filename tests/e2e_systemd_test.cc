// Socket activation end to end: increment_server started by
// systemd-socket-activate (or by socket_holder, which keeps the socket
// across instances as systemd does) on "--listen systemd:" and
// "systemd:NAME", the errors of bad passed sockets, --exit_when_idle, and
// the shipped docs/systemd units. The LISTEN_* protocol itself is also
// checked in a forked child (the passed sockets are per process).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/socket.h"
#include "transport/socket_activation.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::RunProgram;
using ::sockrpc::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kSocketActivate[] = "/usr/bin/systemd-socket-activate";

#define SKIP_WITHOUT_SOCKET_ACTIVATE()                               \
  if (access(kSocketActivate, X_OK) != 0) {                          \
    GTEST_SKIP() << kSocketActivate                                  \
                 << " is missing (Debian package systemd; build.sh " \
                    "installs it)";                                  \
  }

// Starts `server_args` under systemd-socket-activate with `activate_args`
// (-l PATH ...) and waits until it listens (it starts the server on the
// first connection).
std::unique_ptr<ChildProcess> StartActivated(
    const std::vector<std::string>& activate_args,
    const std::vector<std::string>& server_args) {
  std::vector<std::string> args = activate_args;
  args.insert(args.end(), server_args.begin(), server_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(kSocketActivate, args);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return nullptr;
  absl::StatusOr<std::string> listening =
      (*process)->WaitForLine("Listening on", kProcessTimeout);
  EXPECT_TRUE(listening.ok()) << listening.status();
  return *std::move(process);
}

// One increment_client call to `target`; its output.
ProgramRun CallIncrement(const std::string& target) {
  absl::StatusOr<ProgramRun> run = RunProgram(
      BinaryPath("increment_client"), {"--target", target}, kProcessTimeout);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *run : ProgramRun{};
}

bool IsSocketFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

// Waits for `process` to exit and returns its exit code (-1 otherwise).
int ExitCode(ChildProcess& process) {
  absl::StatusOr<int> status = process.WaitForExit(kProcessTimeout);
  EXPECT_TRUE(status.ok()) << status.status();
  if (!status.ok()) return -1;
  EXPECT_TRUE(WIFEXITED(*status)) << DescribeWaitStatus(*status);
  // The child is reaped, but the reader thread may not have read the last
  // of its pipes yet: wait for them to close, so StderrText() is whole.
  absl::Status output_end = process.WaitForOutputEnd(kProcessTimeout);
  EXPECT_TRUE(output_end.ok()) << output_end;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

TEST(SystemdActivationTest, ServerStartsOnFirstConnectionAndKeepsTheSocket) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  const std::string path = dir.File("s");
  auto activated = StartActivated(
      {"-l", path}, {BinaryPath("increment_server"), "--listen", "systemd:"});
  ASSERT_NE(activated, nullptr);
  ProgramRun run = CallIncrement("unix:" + path);
  EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"))
      << run.stderr_text;
  EXPECT_TRUE(
      activated->WaitForLine("listening on unix:" + path, kProcessTimeout)
          .ok());
  // systemd-socket-activate became the server (exec): stop it.
  ASSERT_TRUE(activated->Signal(SIGTERM).ok());
  EXPECT_EQ(ExitCode(*activated), 0) << activated->StderrText();
  // An adopted socket's file belongs to systemd: never removed.
  EXPECT_TRUE(IsSocketFile(path));
}

TEST(SystemdActivationTest, NamedSocketIsTheOneServed) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  auto activated = StartActivated(
      {"-l", dir.File("a"), "-l", dir.File("b"), "--fdname=first:second"},
      {BinaryPath("increment_server"), "--listen", "systemd:second"});
  ASSERT_NE(activated, nullptr);
  ProgramRun run = CallIncrement("unix:" + dir.File("b"));
  EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"))
      << run.stderr_text << activated->StderrText();
  absl::StatusOr<std::string> line =
      activated->WaitForLine("listening on ", kProcessTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "listening on unix:" + dir.File("b"));
}

TEST(SystemdActivationTest, SeveralSocketsAreAllServed) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  auto activated =
      StartActivated({"-l", dir.File("a"), "-l", dir.File("b")},
                     {BinaryPath("increment_server"), "--listen", "systemd:"});
  ASSERT_NE(activated, nullptr);
  for (const char* name : {"a", "b"}) {
    ProgramRun run = CallIncrement(absl::StrCat("unix:", dir.File(name)));
    EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"));
  }
  EXPECT_TRUE(
      activated
          ->WaitForLine(absl::StrCat("listening on unix:", dir.File("a"),
                                     ", unix:", dir.File("b"),
                                     " (2 sockets passed by systemd)"),
                        kProcessTimeout)
          .ok())
      << activated->StderrText();
}

TEST(SystemdActivationTest, UnknownNameListsThePassedNames) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  auto activated = StartActivated(
      {"-l", dir.File("a"), "-l", dir.File("b"), "--fdname=first:second"},
      {BinaryPath("increment_server"), "--listen", "systemd:third"});
  ASSERT_NE(activated, nullptr);
  CallIncrement("unix:" + dir.File("a"));  // starts it; the call fails
  EXPECT_EQ(ExitCode(*activated), 1);
  EXPECT_THAT(activated->StderrText(),
              HasSubstr("NOT_FOUND: no socket named \"third\" passed by "
                        "systemd; passed: first (fd 3), second (fd 4)"));
}

// Runs "increment_server --listen systemd:" under env(1) with `env_args`
// (variables to set or unset); it must exit 1. Its standard error.
std::string FailedStart(std::vector<std::string> env_args) {
  env_args.insert(env_args.end(),
                  {BinaryPath("increment_server"), "--listen", "systemd:"});
  absl::StatusOr<ProgramRun> run =
      RunProgram("/usr/bin/env", env_args, kProcessTimeout);
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return "";
  EXPECT_EQ(run->wait_status, 1 << 8) << DescribeWaitStatus(run->wait_status);
  return run->stderr_text;
}

TEST(SystemdActivationTest, NothingPassedIsAClearError) {
  EXPECT_THAT(FailedStart({"-u", "LISTEN_FDS", "-u", "LISTEN_PID"}),
              HasSubstr("FAILED_PRECONDITION: no sockets passed by systemd "
                        "(LISTEN_FDS is not set)"));
}

TEST(SystemdActivationTest, SocketsPassedToAnotherProcessAreRefused) {
  EXPECT_THAT(FailedStart({"LISTEN_PID=1", "LISTEN_FDS=1"}),
              HasSubstr("sockets passed by systemd are for process 1 "
                        "(LISTEN_PID), not this one"));
}

TEST(SystemdActivationTest, DatagramSocketIsRefused) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  const std::string path = dir.File("d");
  auto activated =
      StartActivated({"-d", "-l", path},
                     {BinaryPath("increment_server"), "--listen", "systemd:"});
  ASSERT_NE(activated, nullptr);
  // A datagram starts the server.
  Fd sender(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::snprintf(to.sun_path, sizeof(to.sun_path), "%s", path.c_str());
  ASSERT_EQ(sendto(sender.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to),
                   sizeof(to)),
            1);
  EXPECT_EQ(ExitCode(*activated), 1);
  EXPECT_THAT(activated->StderrText(),
              HasSubstr("socket passed by systemd as fd 3 (unknown) is not a "
                        "stream socket"));
}

TEST(SystemdActivationTest, AcceptedConnectionIsRefused) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  const std::string path = dir.File("s");
  // Accept=yes: the server would get a connection, not a listening socket.
  auto activated =
      StartActivated({"-a", "-l", path},
                     {BinaryPath("increment_server"), "--listen", "systemd:"});
  ASSERT_NE(activated, nullptr);
  ProgramRun run = CallIncrement("unix:" + path);
  EXPECT_NE(run.wait_status, 0);
  absl::StatusOr<std::string> line =
      activated->WaitForLine("is not listening", kProcessTimeout);
  EXPECT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, HasSubstr("INVALID_ARGUMENT: socket passed by systemd "
                               "as fd 3"));
}

TEST(SystemdActivationTest, ExitsWhenIdleAndLeavesTheSocketFile) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  const std::string path = dir.File("s");
  auto activated =
      StartActivated({"-l", path}, {BinaryPath("increment_server"), "--listen",
                                    "systemd:", "--exit_when_idle=200ms"});
  ASSERT_NE(activated, nullptr);
  ProgramRun run = CallIncrement("unix:" + path);
  EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"));
  // Exits on its own, well within the bound, once its client is gone.
  EXPECT_EQ(ExitCode(*activated), 0) << activated->StderrText();
  EXPECT_THAT(activated->StderrText(),
              HasSubstr("server idle for 200ms (exit_when_idle): shutting "
                        "down"));
  EXPECT_THAT(activated->StderrText(), HasSubstr("server stopped"));
  EXPECT_TRUE(IsSocketFile(path));
}

TEST(SystemdActivationTest, InteropServerExitsWhenIdleToo) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  TempDir dir;
  const std::string path = dir.File("s");
  auto activated =
      StartActivated({"-l", path}, {BinaryPath("interop_server"), "--listen",
                                    "systemd:", "--exit_when_idle=100ms"});
  ASSERT_NE(activated, nullptr);
  // Any connection starts it; it then sees nobody and exits.
  Fd client(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  absl::StatusOr<Address> address = ParseAddress("unix:" + path);
  ASSERT_TRUE(address.ok());
  absl::StatusOr<Fd> connected =
      Connect(*address, absl::Now() + kProcessTimeout);
  ASSERT_TRUE(connected.ok()) << connected.status();
  connected->reset();
  EXPECT_EQ(ExitCode(*activated), 0) << activated->StderrText();
  EXPECT_THAT(activated->StderrText(), HasSubstr("(exit_when_idle)"));
}

// The race of exit_when_idle: clients come one after another, each while
// the previous instance may be deciding to exit (1 ms of idleness is
// enough). socket_holder keeps the socket and starts a new instance when a
// connection waits and none runs, as systemd does. Every call must
// succeed: a connection is served by the instance that accepted it, or
// stays queued for the next; one accepted and then dropped fails its call.
TEST(SystemdActivationTest, ConnectionsWhileExitingIdleAreNeverDropped) {
  TempDir dir;
  const std::string path = dir.File("s");
  absl::StatusOr<std::unique_ptr<ChildProcess>> holder = ChildProcess::Start(
      BinaryPath("socket_holder"),
      {"--socket", path, "--", BinaryPath("increment_server"), "--listen",
       "systemd:", "--exit_when_idle=1ms"});
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->WaitForLine("holding unix:", kProcessTimeout).ok());
  constexpr int kCalls = 40;
  for (int i = 0; i < kCalls; ++i) {
    ProgramRun run = CallIncrement("unix:" + path);
    ASSERT_THAT(run.stdout_text, HasSubstr("char from server = B"))
        << "call " << i << ": " << run.stderr_text << "\nholder:\n"
        << (*holder)->StderrText();
  }
  // The instances did exit between calls (else nothing was tested), and
  // every one with status 0.
  EXPECT_TRUE(
      (*holder)->WaitForLine("instance 1 exited with 0", kProcessTimeout).ok());
  EXPECT_TRUE(
      (*holder)->WaitForLine("instance 2 started", kProcessTimeout).ok());
  EXPECT_THAT((*holder)->StderrText(),
              ::testing::Not(HasSubstr("exited with 1")));
}

// Runs `body` in a forked child (the passed sockets are per process) and
// returns its exit code: 0 for success, else the step that failed.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST(PassedSocketsTest, TakesEachSocketOnceAndChecksIt) {
  EXPECT_EQ(InChild([] {
              TempDir dir;
              absl::StatusOr<Listener> listener =
                  Listener::Bind(*ParseAddress("unix:" + dir.File("s")));
              if (!listener.ok()) return 1;
              Fd datagram(socket(AF_UNIX, SOCK_DGRAM, 0));
              if (dup2(listener->fd(), 3) != 3) return 2;
              if (dup2(datagram.get(), 4) != 4) return 3;
              setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
              setenv("LISTEN_FDS", "2", 1);
              setenv("LISTEN_FDNAMES", "good:dgram", 1);
              auto bad = TakePassedSockets({"dgram"});
              if (!absl::IsInvalidArgument(bad.status()) ||
                  !absl::StrContains(bad.status().message(),
                                     "fd 4 (dgram) is not a stream socket")) {
                return 4;
              }
              // The variables are gone, so no child takes the sockets.
              if (getenv("LISTEN_FDS") != nullptr ||
                  getenv("LISTEN_PID") != nullptr ||
                  getenv("LISTEN_FDNAMES") != nullptr) {
                return 5;
              }
              // Both are close-on-exec now, taken or not.
              if ((fcntl(3, F_GETFD) & FD_CLOEXEC) == 0 ||
                  (fcntl(4, F_GETFD) & FD_CLOEXEC) == 0) {
                return 6;
              }
              auto good = TakePassedSockets({"good"});
              if (!good.ok() || good->size() != 1 || (*good)[0].fd.get() != 3 ||
                  (fcntl(3, F_GETFL) & O_NONBLOCK) == 0) {
                return 7;
              }
              auto again = TakePassedSockets({"good"});
              if (!absl::IsAlreadyExists(again.status())) return 8;
              auto all = TakePassedSockets({""});
              if (!absl::IsAlreadyExists(all.status())) return 9;
              auto unknown = TakePassedSockets({"other"});
              if (!absl::IsNotFound(unknown.status()) ||
                  !absl::StrContains(unknown.status().message(),
                                     "passed: good (fd 3), dgram (fd 4)")) {
                return 10;
              }
              // The socket nobody took stays open.
              if (fcntl(4, F_GETFD) < 0) return 11;
              return 0;
            }),
            0);
}

TEST(PassedSocketsTest, OnlySystemdFormsAreRecognized) {
  EXPECT_EQ(ParsePassedSocketsAddress("systemd:")->name, "");
  EXPECT_EQ(ParsePassedSocketsAddress("systemd:web")->name, "web");
  EXPECT_FALSE(ParsePassedSocketsAddress("unix:systemd").has_value());
  EXPECT_FALSE(ParsePassedSocketsAddress("localhost:80").has_value());
}

// The value of the first "KEY=" line of the unit file `path`.
std::string UnitSetting(const std::string& path, absl::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, key) && absl::ConsumePrefix(&rest, "=")) {
      return std::string(rest);
    }
  }
  return "";
}

// docs/systemd/increment.{socket,service}, as far as possible without
// systemd as PID 1: the .service's ExecStart (with this build's binary)
// run on the .socket's ListenStream (moved to a temporary directory) and
// FileDescriptorName, under systemd-socket-activate.
TEST(SystemdActivationTest, ShippedUnitsRunUnderSocketActivation) {
  SKIP_WITHOUT_SOCKET_ACTIVATE();
  const std::string units = absl::StrCat(SOCKRPC_SOURCE_DIR, "/docs/systemd/");
  const std::string listen_stream =
      UnitSetting(units + "increment.socket", "ListenStream");
  const std::string fd_name =
      UnitSetting(units + "increment.socket", "FileDescriptorName");
  const std::string exec_start =
      UnitSetting(units + "increment.service", "ExecStart");
  ASSERT_EQ(listen_stream, "/run/increment.sock");
  ASSERT_FALSE(fd_name.empty());
  std::vector<std::string> command = absl::StrSplit(exec_start, ' ');
  ASSERT_GE(command.size(), 3u) << exec_start;
  ASSERT_EQ(command[0], "/usr/local/bin/increment_server");
  command[0] = BinaryPath("increment_server");
  EXPECT_THAT(exec_start, HasSubstr("--listen systemd:" + fd_name));
  TempDir dir;
  const std::string path = dir.File("increment.sock");
  auto activated = StartActivated({"-l", path, "--fdname=" + fd_name}, command);
  ASSERT_NE(activated, nullptr);
  ProgramRun run = CallIncrement("unix:" + path);
  EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"))
      << run.stderr_text << activated->StderrText();
  ASSERT_TRUE(activated->Signal(SIGTERM).ok());
  EXPECT_EQ(ExitCode(*activated), 0);
  EXPECT_TRUE(IsSocketFile(path));
}

}  // namespace
}  // namespace sockrpc
