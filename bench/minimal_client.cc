// minimal_client: the smallest useful sockrpc client, one Echo call, used
// to measure what a client costs on disk and in loaded shared libraries.
//
//   minimal_client ADDR
//
// After the call it prints the line of PrintLoadedSize() (loaded_size.h):
//   binary_bytes N so_bytes M so_count K
#include <cstdio>

#include "bench_client.sockrpc.pb.h"
#include "client/channel.h"
#include "loaded_size.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: minimal_client ADDR\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(argv[1]);
  if (!channel.ok()) return 1;
  sockrpc::bench::Bench::Stub stub(*channel);
  sockrpc::bench::Payload request;
  request.set_body("x");
  if (!stub.Echo(request).ok()) return 1;
  sockrpc::bench::PrintLoadedSize();
  return 0;
}
