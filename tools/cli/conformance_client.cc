// sockrpc conformance --client: a strict server (StrictRelay) in front of
// a real one, judging the clients that call through it until SIGINT or
// SIGTERM, then printing one result per client check.
#include "tools/cli/conformance_client.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli/conformance_report.h"
#include "tools/cli/stop_signals.h"
#include "tools/conformance/client_judge.h"
#include "tools/conformance/strict_relay.h"

namespace sockrpc {
namespace cli {

int RunClientChecks(const std::string& listen, const std::string& upstream,
                    uint32_t max_frame_size, uint32_t max_metadata_size,
                    bool json) {
  conformance::StrictRelay::Options options;
  absl::StatusOr<Address> listen_address = ParseAddress(listen);
  absl::StatusOr<Address> upstream_address = ParseAddress(upstream);
  for (const absl::StatusOr<Address>* address :
       {&listen_address, &upstream_address}) {
    if (!address->ok()) {
      std::fprintf(stderr, "sockrpc conformance: %s\n",
                   std::string(address->status().message()).c_str());
      return 2;
    }
  }
  options.listen = *listen_address;
  options.upstream = *upstream_address;
  options.max_frame_size = max_frame_size;
  options.max_metadata_size = max_metadata_size;
  absl::StatusOr<StopSignals> stop = StopSignals::Block();
  if (!stop.ok()) {
    std::fprintf(stderr, "sockrpc conformance: %s\n",
                 stop.status().ToString().c_str());
    return 1;
  }
  conformance::ClientReport report;
  absl::StatusOr<std::unique_ptr<conformance::StrictRelay>> relay =
      conformance::StrictRelay::Listen(options, &report);
  if (!relay.ok()) {
    std::fprintf(stderr, "sockrpc conformance: %s\n",
                 relay.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "sockrpc conformance: listening on %s for clients, relaying "
               "to %s; SIGINT or SIGTERM ends the run\n",
               (*relay)->address().ToString().c_str(), upstream.c_str());
  absl::Status ran = (*relay)->Run(stop->fd());
  if (!ran.ok()) {
    std::fprintf(stderr, "sockrpc conformance: %s\n", ran.ToString().c_str());
    return 1;
  }
  std::vector<CheckResult> results;
  for (const conformance::ClientCheck& check : conformance::ClientChecks()) {
    const conformance::ClientReport::Entry entry = report.Get(check.id);
    conformance::Outcome outcome;
    if (entry.failed) {
      outcome.verdict = conformance::Verdict::kFail;
      outcome.expected = entry.expected;
      outcome.got = entry.got;
      outcome.received = entry.received;
    } else if (entry.exercised == 0) {
      outcome = conformance::Outcome::Skip("no client traffic exercised it");
    }
    results.push_back({check.id, check.title, outcome});
  }
  if (report.connections() == 0 || (*relay)->upstream_failures() > 0) {
    std::fprintf(stderr,
                 "sockrpc conformance: %d client connections judged, %d "
                 "refused because %s could not be reached\n",
                 report.connections(), (*relay)->upstream_failures(),
                 upstream.c_str());
    return 1;
  }
  const std::string peer =
      absl::StrCat(report.connections(), " client connections");
  if (json) {
    PrintJson("clients", peer, results);
  } else {
    std::printf("%s\n", peer.c_str());
    for (const CheckResult& result : results) PrintResultLine(result);
    PrintSummary(results);
  }
  return ExitStatus(results);
}

}  // namespace cli
}  // namespace sockrpc
