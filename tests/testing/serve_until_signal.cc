#include "tests/testing/serve_until_signal.h"

#include <cstdio>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sockrpc {
namespace testing {

void PrintLine(absl::string_view line) {
  std::string text = absl::StrCat(line, "\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
}

int ServeUntilSignal(const char* program, const std::vector<Service*>& services,
                     ServerOptions options, const std::string& listen,
                     absl::Duration grace, TerminationSignals& signals) {
  Server server(std::move(options));
  absl::Status status;
  for (Service* service : services) {
    if (status.ok()) status = server.RegisterService(service);
  }
  absl::StatusOr<std::string> address = server.Listen(listen);
  if (status.ok() && !address.ok()) status = address.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, status.ToString().c_str());
    return 1;
  }
  PrintLine(absl::StrCat("listening on ", *address));
  PrintLine("server waiting");

  // A server with exit_when_idle may stop on its own: that ends the wait.
  std::thread stopped_waiter([&] {
    server.Wait();
    signals.Interrupt("idle");
  });
  const char* signal_name = signals.Wait();
  PrintLine(absl::StrCat("server shutting down (", signal_name, ")"));
  server.Shutdown(absl::Now() + grace);
  stopped_waiter.join();
  PrintLine("server stopped");
  return 0;
}

}  // namespace testing
}  // namespace sockrpc
