#include "tests/compat/serve.h"

#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/server.h"
#include "server/termination_signals.h"

ABSL_FLAG(std::string, listen, "",
          "address to serve on, in any form sockrpc accepts (unix:PATH, "
          "ipv4:127.0.0.1:0, ...)");

namespace compat {

void PrintLine(absl::string_view line) {
  std::string text = absl::StrCat(line, "\n");
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int ServeUntilSignal(const char* program, sockrpc::Service* service, int argc,
                     char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (listen.empty()) {
    std::fprintf(stderr, "%s: --listen ADDRESS is required\n", program);
    return 2;
  }

  sockrpc::TerminationSignals signals;  // before any server thread starts

  sockrpc::Server server;
  absl::Status status = server.RegisterService(service);
  absl::StatusOr<std::string> address = server.Listen(listen);
  if (status.ok() && !address.ok()) status = address.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, status.ToString().c_str());
    return 1;
  }
  PrintLine(absl::StrCat("listening on ", *address));
  PrintLine("server waiting");

  signals.Wait();
  server.Shutdown(absl::Now() + absl::Seconds(5));
  PrintLine("server stopped");
  return 0;
}

}  // namespace compat
