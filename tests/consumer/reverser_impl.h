// ReverserImpl: the consumer's implementation of its Reverser service.
#ifndef SOCKRPC_TESTS_CONSUMER_REVERSER_IMPL_H_
#define SOCKRPC_TESTS_CONSUMER_REVERSER_IMPL_H_

#include <string>

#include <absl/status/status.h>
#include <sockrpc/server/server_context.h>

#include "reverser_server.sockrpc.pb.h"

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

#endif  // SOCKRPC_TESTS_CONSUMER_REVERSER_IMPL_H_
