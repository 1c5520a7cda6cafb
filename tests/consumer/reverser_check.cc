// reverser_check: implements the generated Reverser service, registers it
// with a sockrpc::Server and makes a Stub, which is what an application
// needs to compile and link. Exits 0 if the service looks as generated.

#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/channel.h"
#include "reverser.sockrpc.pb.h"
#include "server/server.h"

namespace {

class ReverserImpl final : public consumer::Reverser::Service {
 public:
  absl::Status Reverse(sockrpc::ServerContext* context,
                       const consumer::Text& request,
                       consumer::Text* reply) override {
    reply->set_value(
        std::string(request.value().rbegin(), request.value().rend()));
    return absl::OkStatus();
  }
};

}  // namespace

int main() {
  ReverserImpl service;
  if (service.name() != consumer::Reverser::kServiceName ||
      service.methods().size() != 1 ||
      service.methods()[0].full_name != "/consumer.Reverser/Reverse") {
    std::cerr << "the generated service is not as expected\n";
    return 1;
  }

  sockrpc::Server server;
  if (absl::Status status = server.RegisterService(&service); !status.ok()) {
    std::cerr << "RegisterService: " << status << "\n";
    return 1;
  }

  // CreateChannel does not connect, so no server needs to be listening.
  auto channel = sockrpc::CreateChannel("unix:/nonexistent/reverser.sock");
  if (!channel.ok()) {
    std::cerr << "CreateChannel: " << channel.status() << "\n";
    return 1;
  }
  consumer::Reverser::Stub stub(*channel);
  return 0;
}
