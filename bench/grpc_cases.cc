#include "grpc_cases.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench.grpc.pb.h"

namespace sockrpc {
namespace bench {
namespace {

// MakeChannel: a channel to spec.address ("unix:PATH" or
// "ipv4:HOST:PORT", both gRPC target names) with a subchannel pool of its
// own, so that every channel is its own connection, as every sockrpc
// Channel is. (By default gRPC channels to one target with the same
// arguments share one connection.)
// With spec.tls_ca, TLS checking the certificate's name "localhost".
std::shared_ptr<grpc::Channel> MakeChannel(const CaseSpec& spec) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (spec.tls_ca.empty()) {
    return grpc::CreateCustomChannel(spec.address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  std::ifstream file(spec.tls_ca);
  std::stringstream roots;
  roots << file.rdbuf();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = roots.str();
  args.SetSslTargetNameOverride(kBenchTlsName);
  return grpc::CreateCustomChannel(spec.address, grpc::SslCredentials(tls),
                                   args);
}

void Report(const grpc::Status& status) {
  std::fprintf(stderr, "grpc_bench_client: call failed: %d %s\n",
               static_cast<int>(status.error_code()),
               status.error_message().c_str());
}

Payload MakePayload(size_t size) {
  Payload payload;
  payload.set_body(std::string(size, 'x'));
  return payload;
}

// Fills the latency and CPU figures of `result` from a finished window.
void Finish(const Window& window, Latencies* latencies, bool with_cpu,
            Result* result) {
  result->calls = static_cast<int64_t>(latencies->count());
  result->seconds = window.seconds();
  result->p50_us = latencies->Percentile(0.5) / 1e3;
  result->p99_us = latencies->Percentile(0.99) / 1e3;
  if (with_cpu && result->calls > 0) {
    result->cpu_us_per_call = window.cpu_ns() / 1e3 / result->calls;
  }
}

// One asynchronous call: what gRPC needs kept alive until it completes.
struct PendingCall {
  grpc::ClientContext context;
  Payload reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Payload>> reader;
};

// One channel with spec.in_flight calls outstanding, each replaced as it
// completes, until the window closes.
bool InFlightOne(const CaseSpec& spec, Window* window, int64_t* calls) {
  std::unique_ptr<Bench::Stub> stub = Bench::NewStub(MakeChannel(spec));
  const Payload request = MakePayload(spec.size);
  grpc::CompletionQueue queue;
  std::vector<std::unique_ptr<PendingCall>> slots(spec.in_flight);
  auto start = [&](size_t slot) {
    slots[slot] = std::make_unique<PendingCall>();
    PendingCall& call = *slots[slot];
    call.reader = stub->AsyncEcho(&call.context, request, &queue);
    call.reader->Finish(&call.reply, &call.status,
                        reinterpret_cast<void*>(slot));
  };
  for (size_t slot = 0; slot < slots.size(); ++slot) start(slot);

  size_t outstanding = slots.size();
  bool ok = true;
  bool more = true;
  void* tag = nullptr;
  bool completed = false;
  while (outstanding > 0 && queue.Next(&tag, &completed)) {
    --outstanding;
    size_t slot = reinterpret_cast<size_t>(tag);
    if (!completed || !slots[slot]->status.ok()) {
      Report(slots[slot]->status);
      ok = false;
      more = false;
      continue;
    }
    if (more && window->Measuring()) ++*calls;
    if (more) more = window->Continue();
    if (more) {
      start(slot);
      ++outstanding;
    }
  }
  queue.Shutdown();
  while (queue.Next(&tag, &completed)) {
  }
  return ok;
}

}  // namespace

Result GrpcUnary(const CaseSpec& spec) {
  Result result;
  std::unique_ptr<Bench::Stub> stub = Bench::NewStub(MakeChannel(spec));
  const Payload request = MakePayload(spec.size);
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds, spec.server);
  result.ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    grpc::ClientContext context;
    Payload reply;
    grpc::Status status = stub->Echo(&context, request, &reply);
    if (!status.ok() || reply.body().size() != spec.size) {
      Report(status);
      result.ok = false;
      break;
    }
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  Finish(window, &latencies, /*with_cpu=*/true, &result);
  return result;
}

Result GrpcInFlight(const CaseSpec& spec) {
  return RunOnEachConnection(spec, InFlightOne);
}

Result GrpcStream(const CaseSpec& spec) {
  Result result;
  std::unique_ptr<Bench::Stub> stub = Bench::NewStub(MakeChannel(spec));
  StreamRequest request;
  request.set_count(50000);
  request.set_size(static_cast<uint32_t>(spec.size));
  Window window(spec.warmup_seconds, spec.seconds);
  result.ok = true;
  while (result.ok && window.Continue()) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<Payload>> reader =
        stub->Stream(&context, request);
    Payload message;
    int64_t received = 0;
    while (reader->Read(&message)) ++received;
    grpc::Status status = reader->Finish();
    if (!status.ok() || received != request.count()) {
      Report(status);
      result.ok = false;
    }
    if (window.Measuring()) result.calls += received;
  }
  result.seconds = window.seconds();
  return result;
}

Result GrpcConnect(const CaseSpec& spec) {
  Result result;
  const Payload request = MakePayload(1);
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds);
  result.ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    std::unique_ptr<Bench::Stub> stub = Bench::NewStub(MakeChannel(spec));
    grpc::ClientContext context;
    Payload reply;
    grpc::Status status = stub->Echo(&context, request, &reply);
    if (!status.ok()) {
      Report(status);
      result.ok = false;
      break;
    }
    stub.reset();  // drops the channel, inside the timed part
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  Finish(window, &latencies, /*with_cpu=*/false, &result);
  return result;
}

int GrpcConnectIdle(const CaseSpec& spec,
                    std::vector<std::shared_ptr<grpc::Channel>>* channels) {
  // Start every connection first, then wait for each.
  for (int i = 0; i < spec.connections; ++i) {
    channels->push_back(MakeChannel(spec));
    channels->back()->GetState(/*try_to_connect=*/true);
  }
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(20);
  int connected = 0;
  for (const std::shared_ptr<grpc::Channel>& channel : *channels) {
    if (channel->WaitForConnected(deadline)) ++connected;
  }
  return connected;
}

}  // namespace bench
}  // namespace sockrpc
