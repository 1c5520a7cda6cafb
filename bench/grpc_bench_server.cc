// grpc_bench_server: the gRPC baseline's server. Serves the benchmark
// service (bench.proto: Echo and Stream) with gRPC's synchronous server,
// default settings, until SIGTERM or SIGINT. Started by the benchmark
// runner as a separate process, like bench_server.
//
//   grpc_bench_server --listen ADDR [--listen ADDR...]
//
// ADDR is "unix:PATH" or "ipv4:HOST:PORT" (port 0: any free port), as for
// bench_server. Prints "ready ADDR..." (real ports included) on one line
// of standard output once it serves.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench.grpc.pb.h"

namespace {

using sockrpc::bench::Bench;
using sockrpc::bench::Payload;
using sockrpc::bench::StreamRequest;

class BenchService final : public Bench::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* context, const Payload* request,
                    Payload* reply) override {
    *reply = *request;
    return grpc::Status::OK;
  }

  grpc::Status Stream(grpc::ServerContext* context,
                      const StreamRequest* request,
                      grpc::ServerWriter<Payload>* writer) override {
    Payload message;
    message.set_body(std::string(request->size(), 'x'));
    for (uint32_t i = 0; i < request->count(); ++i) {
      if (!writer->Write(message)) break;
    }
    return grpc::Status::OK;
  }
};

// A listening address as gRPC's server takes it ("unix:PATH" as it is,
// "ipv4:HOST:PORT" without the scheme), with where to report the port.
struct Listener {
  std::string address;  // as given
  std::string grpc_address;
  int port = 0;  // filled in by BuildAndStart for TCP
};

// The contents of the file at `path` ("" if it cannot be read).
std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Listener> listeners;
  std::string tls_cert;
  std::string tls_key;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tls_cert") == 0 && i + 1 < argc) {
      tls_cert = ReadFile(argv[++i]);
    } else if (std::strcmp(argv[i], "--tls_key") == 0 && i + 1 < argc) {
      tls_key = ReadFile(argv[++i]);
    } else if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      Listener listener;
      listener.address = argv[++i];
      listener.grpc_address = listener.address.rfind("ipv4:", 0) == 0
                                  ? listener.address.substr(5)
                                  : listener.address;
      listeners.push_back(listener);
    } else {
      listeners.clear();
      break;
    }
  }
  if (listeners.empty()) {
    std::fprintf(stderr,
                 "usage: grpc_bench_server --listen ADDR... "
                 "[--tls_cert FILE --tls_key FILE]\n");
    return 2;
  }

  // SIGTERM/SIGINT are taken synchronously by main's sigwait below; block
  // them before gRPC starts any thread so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  BenchService service;
  grpc::ServerBuilder builder;
  // With a certificate, TCP listeners speak TLS (as bench_server's do).
  std::shared_ptr<grpc::ServerCredentials> tls;
  if (!tls_cert.empty()) {
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({tls_key, tls_cert});
    tls = grpc::SslServerCredentials(options);
  }
  for (Listener& listener : listeners) {
    const bool tcp = listener.address.rfind("ipv4:", 0) == 0;
    builder.AddListeningPort(
        listener.grpc_address,
        tls != nullptr && tcp ? tls : grpc::InsecureServerCredentials(),
        &listener.port);
  }
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "grpc_bench_server: cannot start\n");
    return 1;
  }
  std::string bound;
  for (const Listener& listener : listeners) {
    if (listener.port == 0) {
      std::fprintf(stderr, "grpc_bench_server: cannot listen on %s\n",
                   listener.address.c_str());
      return 1;
    }
    if (listener.address.rfind("ipv4:", 0) == 0) {
      std::string host = listener.grpc_address.substr(
          0, listener.grpc_address.rfind(':'));
      bound += " ipv4:" + host + ":" + std::to_string(listener.port);
    } else {
      bound += " " + listener.address;
    }
  }
  std::printf("ready%s\n", bound.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // Calls still running are cancelled after a second.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server.reset();
  for (const Listener& listener : listeners) {
    if (listener.address.rfind("unix:", 0) == 0) {
      ::unlink(listener.address.substr(5).c_str());
    }
  }
  return 0;
}
