// sockrpc-gateway (run as `sockrpc gateway`): a gRPC server (HTTP/2,
// plaintext) whose every call is passed through to a sockrpc server, so
// that gRPC clients and tools in any language (grpcurl, ghz, grpcio) call
// sockrpc services unchanged. See forwarded_call.h for one call's path and
// reflection_bridge.h for the gRPC reflection it serves.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "tools/cli/args.h"
#include "tools/gateway/forwarded_call.h"
#include "tools/gateway/reflection_bridge.h"

namespace sockrpc::gateway {
namespace {

class GatewayService final : public grpc::CallbackGenericService {
 public:
  explicit GatewayService(Channel* upstream) : upstream_(upstream) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return ForwardCall(context, upstream_);
  }

 private:
  Channel* const upstream_;
};

// gRPC's name for `listen`: HOST:PORT and unix:PATH as they are;
// ipv4:/ipv6: (sockrpc's forms) without the prefix.
std::string GrpcAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "ipv4:")) return listen.substr(5);
  if (absl::StartsWith(listen, "ipv6:")) return listen.substr(5);
  return listen;
}

// `listen` with the port gRPC picked in place of 0.
std::string BoundAddress(const std::string& listen, int port) {
  if (absl::StartsWith(listen, "unix:") || port <= 0) return listen;
  const size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon + 1), port);
}

int Run(int argc, char** argv) {
  std::string listen;
  std::string upstream_address;
  std::string max_message_size = "4194304";
  cli::ArgParser parser(
      "gateway", "gateway --listen ADDR --upstream ADDR",
      "Serves gRPC (HTTP/2, plaintext) on --listen and passes every call "
      "through to the sockrpc server at --upstream: unary and streaming "
      "calls, flow control, deadlines, cancellation both ways, metadata, "
      "and status codes and messages 1:1. Also serves gRPC's reflection "
      "(grpc.reflection.v1alpha) from the upstream's sockrpc reflection, "
      "so grpcurl and ghz work unchanged. Runs until SIGINT or SIGTERM.");
  parser.AddString({"--listen"}, "ADDR",
                   "where gRPC clients connect: HOST:PORT (port 0: any "
                   "free port), ipv4:A.B.C.D:PORT, ipv6:[ADDR]:PORT or "
                   "unix:PATH",
                   &listen);
  parser.AddString({"--upstream"}, "ADDR",
                   "the sockrpc server, in any form sockrpc accepts",
                   &upstream_address);
  parser.AddString({"--max-message-size"}, "BYTES",
                   "largest message either way (default 4194304)",
                   &max_message_size);
  bool print_ready = false;
  parser.AddBool({"--print-ready"},
                 "once listening, print \"ready ADDR\" on standard output "
                 "(for scripts that start the gateway)",
                 &print_ready);
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  int max_message = 0;
  if (!args.empty()) return parser.UsageError("takes no arguments");
  if (listen.empty()) return parser.UsageError("--listen is required");
  if (upstream_address.empty()) {
    return parser.UsageError("--upstream is required");
  }
  if (!absl::SimpleAtoi(max_message_size, &max_message) || max_message <= 0) {
    return parser.UsageError("--max-message-size takes a positive number");
  }

  // Blocked before gRPC starts its threads, which inherit the mask; this
  // thread takes them with sigwait().
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  ChannelOptions channel_options;
  channel_options.max_frame_size = static_cast<uint32_t>(max_message);
  absl::StatusOr<std::shared_ptr<Channel>> upstream =
      CreateChannel(upstream_address, channel_options);
  if (!upstream.ok()) {
    std::fprintf(stderr, "sockrpc gateway: --upstream: %s\n",
                 std::string(upstream.status().message()).c_str());
    return 2;
  }
  GatewayService forwarding(upstream->get());
  ReflectionBridge reflection(*upstream);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(GrpcAddress(listen),
                           grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.RegisterService(&reflection);
  builder.RegisterCallbackGenericService(&forwarding);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (port == 0 && !absl::StartsWith(listen, "unix:"))) {
    std::fprintf(stderr, "sockrpc gateway: cannot listen on %s\n",
                 listen.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "sockrpc gateway: listening on %s\n"
               "sockrpc gateway: forwarding to %s\n",
               BoundAddress(listen, port).c_str(), upstream_address.c_str());
  if (print_ready) {
    std::printf("ready %s\n", BoundAddress(listen, port).c_str());
    std::fflush(stdout);
  }
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::fprintf(stderr, "sockrpc gateway: shutting down (%s)\n",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace
}  // namespace sockrpc::gateway

int main(int argc, char** argv) { return sockrpc::gateway::Run(argc, argv); }
