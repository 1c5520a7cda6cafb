// lab_client: Increment calls one after another, for the tests between
// network namespaces (tests/hardening/netns_test.cc), where the test
// process itself cannot be the client (it runs in another namespace, with
// another /etc/hosts).
//
//   lab_client --target T [--connections K] [--calls N] [--interval D]
//              [--load_balancing round_robin] [--keepalive_time D
//              --keepalive_timeout D] [--connect_timeout D]
//              [--resolve_interval D] [TLS flags]
//
// Connects each channel first (WaitForConnected()), then makes up to
// --calls calls (until SIGTERM or SIGINT), --interval apart,
// in turn over --connections channels (each its own connection: through
// a TCP load balancer, each lands on the backend it picked). Call I sends
// character U+4E00+I and must get back U+4E00+I+1: a reply that belongs
// to another call, or comes twice, would show. Prints one line per call,
//   call I OK
//   call I FAILED: STATUS
// and at the end "started S ok O failed F" (S = O + F: no call is left
// without an outcome). Exits 0 if every call succeeded, 1 otherwise, 2
// for bad flags.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "examples/common/program_flags.h"
#include "examples/common/tls_flags.h"
#include "increment.sockrpc.pb.h"
#include "tests/testing/utf8.h"

ABSL_FLAG(std::string, target, "", "the servers' address (any target form)");
ABSL_FLAG(int, connections, 1, "channels to take calls in turn");
ABSL_FLAG(int, calls, 100, "calls to make (fewer if stopped)");
ABSL_FLAG(absl::Duration, interval, absl::ZeroDuration(),
          "pause between calls");
ABSL_FLAG(std::string, load_balancing, "pick_first",
          "pick_first or round_robin");
ABSL_FLAG(absl::Duration, keepalive_time, absl::InfiniteDuration(),
          "ChannelOptions::keepalive_time");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "ChannelOptions::keepalive_timeout");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(20),
          "ChannelOptions::connect_timeout");
ABSL_FLAG(absl::Duration, resolve_interval, absl::Seconds(30),
          "ChannelOptions::resolve_interval");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(20), "each call's deadline");

namespace {

std::atomic<bool> stop_requested{false};

using ::sockrpc::testing::Utf8;

void RequestStop(int) { stop_requested.store(true); }

void PrintLine(const std::string& line) {
  std::string text = line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"lab_client --target ADDRESS [OPTIONS]",
       "Makes Increment calls one after another and prints each outcome "
       "(a test program)."});
  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  sockrpc::ChannelOptions options;
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.resolve_interval = absl::GetFlag(FLAGS_resolve_interval);
  options.tls = sockrpc::examples::ClientTlsFromFlags();
  const std::string load_balancing = absl::GetFlag(FLAGS_load_balancing);
  if (load_balancing == "round_robin") {
    options.load_balancing = sockrpc::LoadBalancing::kRoundRobin;
  } else if (load_balancing != "pick_first") {
    PrintLine("lab_client: --load_balancing is pick_first or round_robin");
    return 2;
  }
  std::vector<std::unique_ptr<increment::Increment::Stub>> stubs;
  for (int i = 0; i < absl::GetFlag(FLAGS_connections); ++i) {
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(absl::GetFlag(FLAGS_target), options);
    if (!channel.ok()) {
      PrintLine(absl::StrCat("lab_client: ", channel.status().ToString()));
      return 2;
    }
    // Connected first (with round_robin every backend), so that the calls
    // take turns across all of them from the first; a failure here is the
    // first call's to report.
    (void)(*channel)->WaitForConnected(absl::Now() +
                                       absl::GetFlag(FLAGS_deadline));
    stubs.push_back(std::make_unique<increment::Increment::Stub>(*channel));
  }
  if (stubs.empty()) return 2;

  constexpr uint32_t kFirst = 0x4E00;  // 20,000 distinct characters on
  const int calls = std::min(absl::GetFlag(FLAGS_calls), 20000);
  int started = 0;
  int ok = 0;
  int failed = 0;
  for (int i = 0; i < calls && !stop_requested.load(); ++i) {
    sockrpc::ClientContext context;
    context.set_timeout(absl::GetFlag(FLAGS_deadline));
    increment::IncrementRequest request;
    request.set_character(Utf8(kFirst + i));
    ++started;
    absl::StatusOr<increment::IncrementReply> reply =
        stubs[i % stubs.size()]->Increment(&context, request);
    if (reply.ok() && reply->character() == Utf8(kFirst + i + 1)) {
      ++ok;
      PrintLine(absl::StrCat("call ", i, " OK"));
    } else {
      ++failed;
      PrintLine(absl::StrCat("call ", i, " FAILED: ",
                             reply.ok() ? "a reply that is not this call's"
                                        : reply.status().ToString()));
    }
    absl::SleepFor(absl::GetFlag(FLAGS_interval));
  }
  PrintLine(absl::StrCat("started ", started, " ok ", ok, " failed ", failed));
  return failed == 0 ? 0 : 1;
}
