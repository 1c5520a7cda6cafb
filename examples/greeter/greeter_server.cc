#include <absl/time/clock.h>
#include <sockrpc/server/server.h>
#include <sockrpc/server/termination_signals.h>

#include <iostream>

#include "greeter_server.sockrpc.pb.h"

class GreeterImpl final : public hello::Greeter::Service {
  absl::Status SayHello(sockrpc::ServerContext* context,
                        const hello::HelloRequest& request,
                        hello::HelloReply* reply) override {
    reply->set_message("Hello, " + request.name());
    return absl::OkStatus();
  }
};

// greeter_server [ADDRESS]: serves until SIGINT, SIGTERM or SIGHUP.
int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "unix:greeter.sock";
  sockrpc::TerminationSignals signals;  // before the server's threads start
  GreeterImpl greeter;
  sockrpc::Server server;
  absl::Status status = server.RegisterService(&greeter);
  absl::StatusOr<std::string> bound = server.Listen(address);
  if (status.ok()) status = bound.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::cerr << "greeter_server: " << status << "\n";
    return 1;
  }
  std::cerr << "greeter_server: listening on " << *bound << "\n";
  signals.Wait();
  server.Shutdown(absl::Now() + absl::Seconds(5));  // removes the socket file
}
