// run_in_new_netns: runs a command in a network namespace of its own, in
// which only the loopback interface exists, brought up here. Test-only:
// lets a test change what is per namespace (the ephemeral port range)
// without touching the machine's.
//
//   run_in_new_netns [--local_ports LOW-HIGH] -- BINARY [ARG...]
//
// --local_ports sets net.ipv4.ip_local_port_range in the new namespace, the
// ports the kernel picks for a client's end of a TCP connection.
//
// Exits 77 (the conventional "skipped") with a line on standard error when
// the namespace cannot be made, for example without CAP_SYS_ADMIN, so that
// a test can skip rather than fail; 2 for bad arguments; otherwise the
// command replaces this process (execv).
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sockrpc/version.h"

namespace {

constexpr int kExitSkipped = 77;

constexpr char kHelp[] =
    "Usage: run_in_new_netns [--local_ports LOW-HIGH] -- BINARY [ARG...]\n"
    "\n"
    "Runs BINARY in a network namespace of its own with only the loopback\n"
    "interface, brought up. A test-only program. Exits 77 if the namespace\n"
    "cannot be made (no CAP_SYS_ADMIN), 2 for bad arguments.\n"
    "\n"
    "Options:\n"
    "  --local_ports=LOW-HIGH\n"
    "      net.ipv4.ip_local_port_range in the new namespace\n"
    "  --help\n"
    "      print this help and exit\n"
    "  --version\n"
    "      print the version and exit\n";
constexpr int kExitUsage = 2;

bool BringUpLoopback() {
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return false;
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = ::ioctl(sock, SIOCGIFFLAGS, &request) == 0;
  if (up) {
    request.ifr_flags |= IFF_UP;
    up = ::ioctl(sock, SIOCSIFFLAGS, &request) == 0;
  }
  ::close(sock);
  return up;
}

// /proc/sys/net/... shows the namespace of the process that opens it.
bool SetLocalPortRange(const std::string& low_high) {
  std::string value = low_high;
  const size_t dash = value.find('-');
  if (dash == std::string::npos) return false;
  value[dash] = ' ';
  value += '\n';
  const int fd =
      ::open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = ::write(fd, value.data(), value.size()) ==
                       static_cast<ssize_t>(value.size());
  ::close(fd);
  return written;
}

}  // namespace

int main(int argc, char** argv) {
  std::string local_ports;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("run_in_new_netns %s\n", SOCKRPC_VERSION_STRING);
      return 0;
    }
    if (arg == "--local_ports" && i + 1 < argc) {
      local_ports = argv[++i];
    } else {
      std::fprintf(stderr, "run_in_new_netns: unknown argument %s\n",
                   arg.c_str());
      return kExitUsage;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr,
                 "usage: run_in_new_netns [--local_ports LOW-HIGH] -- "
                 "BINARY [ARG...]\n");
    return kExitUsage;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "run_in_new_netns: skipped: unshare: %s\n",
                 std::strerror(errno));
    return kExitSkipped;
  }
  if (!BringUpLoopback()) {
    std::fprintf(stderr, "run_in_new_netns: skipped: cannot bring up lo: %s\n",
                 std::strerror(errno));
    return kExitSkipped;
  }
  if (!local_ports.empty() && !SetLocalPortRange(local_ports)) {
    std::fprintf(stderr,
                 "run_in_new_netns: skipped: cannot set the port range %s\n",
                 local_ports.c_str());
    return kExitSkipped;
  }
  ::execv(argv[i], argv + i);
  std::fprintf(stderr, "run_in_new_netns: %s: %s\n", argv[i],
               std::strerror(errno));
  return 127;
}
