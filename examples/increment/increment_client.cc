// increment_client: calls the Increment demo service once.
//
// The client side of the classic Unix-socket example: it connects, sends a
// character and prints the one the server sends back.
//
//   increment_client [--target unix:server_socket] [--char A]
//   char from server = B
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "examples/common/tls_flags.h"
#include "examples/interceptors/client_interceptors.h"
#include "increment_client.sockrpc.pb.h"
#include "sockrpc/client/channel.h"

ABSL_FLAG(std::string, target, "unix:server_socket",
          "server address: unix:PATH, unix:///ABS/PATH, unix-abstract:NAME, "
          "ipv4:HOST:PORT, ipv6:[HOST]:PORT or HOST:PORT");
ABSL_FLAG(std::string, char, "A", "the character to send");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10),
          "how long to wait for the answer");
ABSL_FLAG(absl::Duration, keepalive_time, absl::InfiniteDuration(),
          "PING the server after this long without an answer (inf: never)");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "give up on a server that leaves a keepalive PING unanswered "
          "this long");
ABSL_FLAG(std::string, load_balancing, "pick_first",
          "with several servers in --target: pick_first or round_robin");
ABSL_FLAG(std::string, token, "",
          "send metadata \"authorization: Bearer TOKEN\" (an example client "
          "interceptor)");
ABSL_FLAG(bool, verbose, false,
          "also print the call's status and round-trip time on stderr (an "
          "example client interceptor)");

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"increment_client [--target ADDRESS] [--char A] [OPTIONS]",
       "Sends one character to an Increment server and prints the next one "
       "(\"char from server = B\"). Exits 1 if the call fails, 2 for a bad "
       "address."});
  const std::string target = absl::GetFlag(FLAGS_target);

  sockrpc::ChannelOptions options;
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  const std::string load_balancing = absl::GetFlag(FLAGS_load_balancing);
  if (load_balancing == "round_robin") {
    options.load_balancing = sockrpc::LoadBalancing::kRoundRobin;
  } else if (load_balancing != "pick_first") {
    std::fprintf(stderr,
                 "increment_client: --load_balancing is pick_first or "
                 "round_robin, not \"%s\"\n",
                 load_balancing.c_str());
    return 2;
  }
  options.tls = sockrpc::examples::ClientTlsFromFlags();
  sockrpc::examples::BearerToken token(absl::GetFlag(FLAGS_token));
  if (!absl::GetFlag(FLAGS_token).empty())
    options.interceptors.push_back(&token);
  sockrpc::examples::CallTimer timer([](absl::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  });
  if (absl::GetFlag(FLAGS_verbose)) options.interceptors.push_back(&timer);
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(target, options);
  if (!channel.ok()) {
    std::fprintf(stderr, "increment_client: %s\n",
                 channel.status().ToString().c_str());
    return 2;
  }
  increment::Increment::Stub stub(*channel);

  sockrpc::ClientContext context;
  context.set_timeout(absl::GetFlag(FLAGS_deadline));
  increment::IncrementRequest request;
  request.set_character(absl::GetFlag(FLAGS_char));
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&context, request);
  if (!reply.ok()) {
    std::fprintf(stderr, "increment_client: call to %s failed: %s\n",
                 target.c_str(), reply.status().ToString().c_str());
    return 1;
  }
  std::printf("char from server = %s\n", reply->character().c_str());
  return 0;
}
