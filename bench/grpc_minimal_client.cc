// grpc_minimal_client: the gRPC counterpart of minimal_client, one Echo
// call with gRPC's C++ client, used to measure what a gRPC client costs
// on disk and in loaded shared libraries.
//
//   grpc_minimal_client ADDR
//
// After the call it prints the line of PrintLoadedSize() (loaded_size.h):
//   binary_bytes N so_bytes M so_count K
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>

#include "bench.grpc.pb.h"
#include "loaded_size.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: grpc_minimal_client ADDR\n");
    return 2;
  }
  std::unique_ptr<sockrpc::bench::Bench::Stub> stub =
      sockrpc::bench::Bench::NewStub(
          grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  sockrpc::bench::Payload request;
  request.set_body("x");
  sockrpc::bench::Payload reply;
  grpc::ClientContext context;
  if (!stub->Echo(&context, request, &reply).ok()) return 1;
  sockrpc::bench::PrintLoadedSize();
  return 0;
}
