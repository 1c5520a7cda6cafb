// socket_holder: what systemd does for a .socket unit, in miniature, for
// tests that need a listening socket to outlive the server using it.
// Test-only.
//
//   socket_holder --socket PATH [--fdname NAME] -- SERVER [ARG...]
//
// Binds and listens on the unix socket PATH, prints "holding unix:PATH",
// and whenever a connection waits on it and no instance runs, starts
// SERVER with the socket as fd 3 and LISTEN_PID, LISTEN_FDS=1 and
// LISTEN_FDNAMES=NAME set (sd_listen_fds(3)), printing "instance N
// started" and, when it ends, "instance N exited with STATUS". The socket
// stays open here meanwhile, so a connection the server never accepted
// stays queued for the next instance, as under systemd. Exits 1 if an
// instance fails (non-zero exit or a signal), 2 for bad arguments.
// Instances die with the holder (PR_SET_PDEATHSIG).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "examples/common/program_flags.h"

ABSL_FLAG(std::string, socket, "", "unix socket path to bind and hold");
ABSL_FLAG(std::string, fdname, "holder", "the socket's name in LISTEN_FDNAMES");

namespace {

void PrintLine(const std::string& line) {
  std::fputs((line + "\n").c_str(), stderr);
}

// Runs `argv` as one instance with `listener` as fd 3; its wait status.
int RunInstance(int listener, const std::vector<char*>& argv) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (listener == 3) {
      fcntl(3, F_SETFD, 0);
    } else {
      dup2(listener, 3);  // dup2 leaves the copy inheritable
    }
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_FDNAMES", absl::GetFlag(FLAGS_fdname).c_str(), 1);
    std::vector<char*> args = argv;
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror("socket_holder: execv");
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> positional = sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"socket_holder --socket PATH [--fdname NAME] -- SERVER [ARG...]",
       "Holds a listening unix socket as systemd does for a .socket unit, "
       "and starts SERVER with it (LISTEN_FDS) whenever a connection waits "
       "and no instance runs. A test-only program."});
  const std::string path = absl::GetFlag(FLAGS_socket);
  if (path.empty() || positional.size() < 2 ||
      path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    PrintLine("socket_holder: need --socket PATH and a SERVER to run");
    return 2;
  }
  std::vector<char*> server(positional.begin() + 1, positional.end());
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  if (listener < 0 ||
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
          0 ||
      listen(listener, 128) != 0) {
    std::perror("socket_holder: bind/listen");
    return 1;
  }
  PrintLine(absl::StrCat("holding unix:", path));
  for (int instance = 1;; ++instance) {
    pollfd waiting{listener, POLLIN, 0};
    while (poll(&waiting, 1, -1) < 0) {
    }
    PrintLine(absl::StrCat("instance ", instance, " started"));
    const int status = RunInstance(listener, server);
    PrintLine(absl::StrCat("instance ", instance, " exited with ",
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
}
