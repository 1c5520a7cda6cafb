// call_loop: a lone caller, CALLS unary Echo calls of SIZE body bytes (64
// by default) one after another on one channel, then exit 0. What the
// per-call cost (call_cost.h) measures on the client's side: run twice with
// two numbers of calls, the difference is the warm calls' own.
//
//   call_loop [--callback] ADDR CALLS [SIZE]
//
// Blocking calls by default; with --callback, calls through the callback
// API, each started by the `done` of the one before, on the channel's
// event loop (the calling thread only waits for the last).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "bench_client.sockrpc.pb.h"
#include "client/channel.h"

namespace {

// Makes `calls` callback calls in a chain; the first error ends it.
class CallbackChain {
 public:
  CallbackChain(sockrpc::bench::Bench::Stub* stub,
                const sockrpc::bench::Payload& request, long calls)
      : stub_(stub), request_(request), left_(calls) {}

  absl::Status Run() {
    if (left_ > 0) {
      std::future<void> finished = finished_.get_future();
      Next();
      finished.wait();
    }
    return status_;
  }

 private:
  void Next() {
    --left_;
    stub_->async()->Echo(nullptr, &request_, &reply_,
                         [this](absl::Status status) { Done(status); });
  }
  void Done(const absl::Status& status) {
    if (!status.ok()) status_ = status;
    if (!status.ok() || left_ == 0) {
      finished_.set_value();  // (the last use of this object)
      return;
    }
    Next();
  }

  sockrpc::bench::Bench::Stub* const stub_;
  const sockrpc::bench::Payload& request_;
  sockrpc::bench::Payload reply_;
  // One call at a time: each is started by the `done` of the one before
  // (or by Run()), so these need no lock; finished_ orders them for Run().
  long left_;
  absl::Status status_;
  std::promise<void> finished_;
};

}  // namespace

int main(int argc, char** argv) {
  const bool callback = argc > 1 && std::strcmp(argv[1], "--callback") == 0;
  if (callback) {
    --argc;
    ++argv;
  }
  long calls = 0;
  long size = 64;
  if ((argc != 3 && argc != 4) || !absl::SimpleAtoi(argv[2], &calls) ||
      calls < 0 ||
      (argc == 4 && (!absl::SimpleAtoi(argv[3], &size) || size < 0))) {
    std::fprintf(stderr, "usage: call_loop [--callback] ADDR CALLS [SIZE]\n");
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
  if (callback) {
    absl::Status status = CallbackChain(&stub, request, calls).Run();
    if (!status.ok()) {
      std::fprintf(stderr, "call_loop: %s\n", status.ToString().c_str());
      return 1;
    }
    return 0;
  }
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
