// TlsRows (suite.h): unary calls and connection set-up over TLS on TCP
// loopback, against the same over plain TCP, with gRPC over TLS beside
// them. The servers are their own (bench_server and grpc_bench_server with
// a certificate); the certificate is made here with the openssl program,
// self-signed for "localhost" and 127.0.0.1, and is the clients' trust root.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cases.h"
#include "grpc_baseline.h"
#include "suite.h"

namespace sockrpc {
namespace bench {
namespace {

// Makes the certificate and key in `dir`; false (and why, on stderr) if
// openssl cannot.
bool MakeCertificate(const std::string& certificate, const std::string& key) {
  const std::optional<std::string> made = RunChild(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate,
       "-days", "2", "-subj", std::string("/CN=") + kBenchTlsName, "-addext",
       std::string("subjectAltName=DNS:") + kBenchTlsName + ",IP:127.0.0.1"},
      30);
  if (!made.has_value()) {
    std::fprintf(stderr,
                 "bench: no TLS rows: openssl could not make a "
                 "certificate\n");
  }
  return made.has_value();
}

}  // namespace

void TlsRows(const Options& options, const Servers& plain,
             const std::string& dir, Report* report) {
  const std::string certificate = dir + "/tls.pem";
  const std::string key = dir + "/tls.key";
  if (!MakeCertificate(certificate, key)) return;
  const std::vector<std::string> tls_flags = {"--tls_cert", certificate,
                                              "--tls_key", key};
  std::vector<std::string> rpc_argv = {options.bin + "/bench_server",
                                       "--listen", "ipv4:127.0.0.1:0"};
  rpc_argv.insert(rpc_argv.end(), tls_flags.begin(), tls_flags.end());
  std::unique_ptr<ChildServer> rpc = ChildServer::Start(rpc_argv);
  std::unique_ptr<ChildServer> grpc =
      StartGrpcServer(options.bin, {"ipv4:127.0.0.1:0"}, -1, tls_flags);
  if (rpc == nullptr || rpc->addresses().size() != 1) {
    std::fprintf(stderr, "bench: no TLS rows: bench_server did not start\n");
    return;
  }

  CaseSpec spec;
  spec.size = 64;
  spec.seconds = options.seconds;
  CaseSpec secure = spec;
  secure.tls_ca = certificate;
  secure.address = rpc->addresses()[0];
  secure.server = rpc->pid();
  CaseSpec clear = spec;
  clear.address = plain.rpc->addresses()[kTcp];
  clear.server = plain.rpc->pid();
  CaseSpec grpc_secure = secure;
  if (grpc != nullptr) {
    grpc_secure.address = grpc->addresses()[0];
    grpc_secure.server = grpc->pid();
  }

  const Result plain_unary = RpcUnary(clear);
  const Result tls_unary = RpcUnary(secure);
  const Result grpc_unary = grpc != nullptr
                                ? RunGrpcCase(options.bin, "unary", grpc_secure)
                                : Result();
  const std::string name = "unary 64 B tcp+tls";
  if (!plain_unary.ok || !tls_unary.ok) {
    std::fprintf(stderr, "bench: %s failed\n", name.c_str());
  }
  // Issue 20's target: TLS adds at most 30% to a call's latency.
  report->Add(AtMost(name + " p50", "us", tls_unary.p50_us, plain_unary.p50_us,
                     "plain tcp", 1.3)
                  .WithGrpc(grpc_unary.p50_us));
  report->Add(Plain(name + " rate", "calls/s", tls_unary.rate(),
                    plain_unary.rate(), "plain tcp")
                  .WithGrpc(grpc_unary.rate()));
  report->Add(Plain(name + " CPU/call", "us", tls_unary.cpu_us_per_call,
                    plain_unary.cpu_us_per_call, "plain tcp")
                  .WithGrpc(grpc_unary.cpu_us_per_call));

  clear.server = 0;
  secure.server = 0;
  grpc_secure.server = 0;
  const Result plain_connect = RpcConnect(clear);
  const Result tls_connect = RpcConnect(secure);
  const Result grpc_connect =
      grpc != nullptr ? RunGrpcCase(options.bin, "connect", grpc_secure)
                      : Result();
  report->Add(Plain("connect + first call tcp+tls p50", "us",
                    tls_connect.p50_us, plain_connect.p50_us, "plain tcp")
                  .WithGrpc(grpc_connect.p50_us));
}

}  // namespace bench
}  // namespace sockrpc
