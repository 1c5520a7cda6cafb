// reverser_check: serves the generated Reverser service and calls it through
// a Stub, in one process and with no address: the channel's connections come
// from Server::ConnectInProcess(), as in a unit test of a handler. Prints the
// reply and exits 0 if it is right.

#include <iostream>
#include <string>

#include <absl/status/status.h>
#include <absl/time/time.h>
#include <sockrpc/client/channel.h>
#include <sockrpc/server/server.h>

#include "reverser.sockrpc.pb.h"
#include "reverser_impl.h"

int main() {
  ReverserImpl service;
  sockrpc::Server server;
  absl::Status status = server.RegisterService(&service);
  if (status.ok()) status = server.Start();  // no Listen(): nothing bound
  if (!status.ok()) {
    std::cerr << "server: " << status << "\n";
    return 1;
  }

  auto channel = sockrpc::CreateChannelFromConnector(
      "in-process",
      [&server](absl::Time) { return server.ConnectInProcess(); });
  if (!channel.ok()) {
    std::cerr << "CreateChannelFromConnector: " << channel.status() << "\n";
    return 1;
  }
  consumer::Reverser::Stub stub(*channel);
  consumer::Text request;
  request.set_value("sockrpc");
  auto reply = stub.Reverse(request);
  server.Shutdown();
  if (!reply.ok()) {
    std::cerr << "Reverse: " << reply.status() << "\n";
    return 1;
  }
  std::cout << "reply: " << reply->value() << "\n";
  return reply->value() == "cprkcos" ? 0 : 1;
}
