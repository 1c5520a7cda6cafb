// Placeholders for `sockrpc tap` and `sockrpc decode` until their real
// implementations land; they replace this file.
#include <cstdio>

#include "tools/cli/commands.h"

namespace sockrpc {
namespace cli {

int RunTap(int /*argc*/, char** /*argv*/) {
  std::fputs("sockrpc tap: not available yet\n", stderr);
  return 2;
}

int RunDecode(int /*argc*/, char** /*argv*/) {
  std::fputs("sockrpc decode: not available yet\n", stderr);
  return 2;
}

}  // namespace cli
}  // namespace sockrpc
