// reverser_check: serves the generated Reverser service on a unix socket in
// a fresh temporary directory and calls it through a Stub, in one process.
// Prints the reply and exits 0 if it is right.

#include <stdlib.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include <absl/status/status.h>
#include <sockrpc/client/channel.h>
#include <sockrpc/server/server.h>

#include "reverser.sockrpc.pb.h"
#include "reverser_impl.h"

int main() {
  char dir[] = "/tmp/reverser_check.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    std::cerr << "mkdtemp failed\n";
    return 1;
  }
  const std::string address = std::string("unix:") + dir + "/reverser.sock";

  ReverserImpl service;
  sockrpc::Server server;
  absl::Status status = server.RegisterService(&service);
  if (status.ok()) status = server.Listen(address).status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::cerr << "server: " << status << "\n";
    return 1;
  }

  auto channel = sockrpc::CreateChannel(address);
  if (!channel.ok()) {
    std::cerr << "CreateChannel: " << channel.status() << "\n";
    return 1;
  }
  consumer::Reverser::Stub stub(*channel);
  consumer::Text request;
  request.set_value("sockrpc");
  auto reply = stub.Reverse(request);
  server.Shutdown();
  server.Wait();
  rmdir(dir);
  if (!reply.ok()) {
    std::cerr << "Reverse: " << reply.status() << "\n";
    return 1;
  }
  std::cout << "reply: " << reply->value() << "\n";
  return reply->value() == "cprkcos" ? 0 : 1;
}
