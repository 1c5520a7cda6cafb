// call_loop: a lone blocking caller, CALLS unary Echo calls of SIZE body
// bytes (64 by default) one after another on one channel, then exit 0.
// What the per-call cost (call_cost.h) measures on the client's side: run
// twice with two numbers of calls, the difference is the warm calls' own.
//
//   call_loop ADDR CALLS [SIZE]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "bench_client.sockrpc.pb.h"
#include "client/channel.h"

int main(int argc, char** argv) {
  long calls = 0;
  long size = 64;
  if ((argc != 3 && argc != 4) || !absl::SimpleAtoi(argv[2], &calls) ||
      calls < 0 ||
      (argc == 4 && (!absl::SimpleAtoi(argv[3], &size) || size < 0))) {
    std::fprintf(stderr, "usage: call_loop ADDR CALLS [SIZE]\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(argv[1]);
  if (!channel.ok()) {
    std::fprintf(stderr, "call_loop: %s\n",
                 channel.status().ToString().c_str());
    return 1;
  }
  sockrpc::bench::Bench::Stub stub(*channel);
  sockrpc::bench::Payload request;
  request.set_body(std::string(size, 'x'));
  // One reply message for every call, as a tight loop of gRPC-style code
  // would: it keeps its memory from call to call.
  sockrpc::bench::Payload reply;
  for (long i = 0; i < calls; ++i) {
    absl::Status status = stub.Echo(request, &reply);
    if (!status.ok()) {
      std::fprintf(stderr, "call_loop: call %ld: %s\n", i,
                   status.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
