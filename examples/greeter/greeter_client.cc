#include <sockrpc/client/channel.h>

#include <iostream>

#include "greeter_client.sockrpc.pb.h"

// greeter_client [ADDRESS [NAME]]: one call, "Hello, NAME" on success.
int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "unix:greeter.sock";
  auto channel = sockrpc::CreateChannel(address);
  if (!channel.ok()) {
    std::cerr << "greeter_client: " << channel.status() << "\n";
    return 2;
  }
  hello::Greeter::Stub stub(*channel);
  hello::HelloRequest request;
  request.set_name(argc > 2 ? argv[2] : "world");
  absl::StatusOr<hello::HelloReply> reply = stub.SayHello(request);
  if (!reply.ok()) {
    std::cerr << "greeter_client: " << reply.status() << "\n";
    return 1;
  }
  std::cout << reply->message() << "\n";  // Hello, world
}
