#include "tests/compat/serve.h"

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "server/server.h"
#include "server/termination_signals.h"
#include "tests/testing/serve_until_signal.h"

ABSL_FLAG(std::string, listen, "",
          "address to serve on, in any form sockrpc accepts (unix:PATH, "
          "ipv4:127.0.0.1:0, ...)");

namespace compat {

int ServeUntilSignal(const char* program, sockrpc::Service* service, int argc,
                     char** argv) {
  const std::string usage = absl::StrCat(program, " --listen ADDRESS");
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {usage,
       "Serves one version of the compatibility test service "
       "(tests/compat/), so that the tests can call it with the other "
       "version's generated client."});
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (listen.empty()) {
    std::fprintf(stderr, "%s: --listen ADDRESS is required\n", program);
    return 2;
  }
  sockrpc::TerminationSignals signals;  // before any server thread starts
  return sockrpc::testing::ServeUntilSignal(program, {service},
                                            sockrpc::ServerOptions(), listen,
                                            absl::Seconds(5), signals);
}

}  // namespace compat
