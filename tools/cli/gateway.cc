// sockrpc gateway: runs sockrpc-gateway (tools/gateway/), the one program
// that links gRPC, so that the sockrpc tool itself does not. It is looked
// for beside this program first, then on PATH; it gets the same options.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/commands.h"

namespace sockrpc {
namespace cli {
namespace {

constexpr char kProgram[] = "sockrpc-gateway";

// The directory of the running sockrpc program, with a trailing slash.
std::string OwnDirectory() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  std::string own(path, static_cast<size_t>(n));
  return own.substr(0, own.rfind('/') + 1);
}

}  // namespace

int RunGateway(int argc, char** argv) {
  std::vector<char*> args;
  args.push_back(const_cast<char*>(kProgram));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  const std::string beside = OwnDirectory() + kProgram;
  execv(beside.c_str(), args.data());
  execvp(kProgram, args.data());
  std::fprintf(stderr,
               "sockrpc gateway: cannot run %s (%s): this sockrpc was built "
               "without gRPC; install libgrpc++-dev and "
               "protobuf-compiler-grpc, then rebuild\n",
               kProgram, std::strerror(errno));
  return 69;  // EX_UNAVAILABLE
}

}  // namespace cli
}  // namespace sockrpc
