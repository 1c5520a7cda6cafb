// reverser_client ADDRESS TEXT: calls Reverse(TEXT) on ADDRESS and prints the
// reply. Built from the generated client half alone: it links
// sockrpc::client and no server code.

#include <iostream>

#include <sockrpc/client/channel.h>

#include "reverser_client.sockrpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: reverser_client ADDRESS TEXT\n";
    return 2;
  }
  auto channel = sockrpc::CreateChannel(argv[1]);
  if (!channel.ok()) {
    std::cerr << "reverser_client: " << channel.status() << "\n";
    return 1;
  }
  consumer::Reverser::Stub stub(*channel);
  consumer::Text request;
  request.set_value(argv[2]);
  auto reply = stub.Reverse(request);
  if (!reply.ok()) {
    std::cerr << "reverser_client: " << reply.status() << "\n";
    return 1;
  }
  std::cout << reply->value() << "\n";
  return 0;
}
