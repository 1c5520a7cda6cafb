#include "events_client.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "measure.h"

namespace sockrpc {
namespace bench {

std::unique_ptr<Events::Stub> EventsStub(const std::string& address) {
  absl::StatusOr<std::shared_ptr<Channel>> channel = CreateChannel(address);
  if (!channel.ok()) {
    std::fprintf(stderr, "bench: %s\n", channel.status().ToString().c_str());
    return nullptr;
  }
  return std::make_unique<Events::Stub>(*channel);
}

absl::StatusOr<StatsReply> GetStats(Events::Stub& stub,
                                    const std::string& tag) {
  ClientContext context;
  context.set_timeout(absl::Seconds(5));
  StatsRequest request;
  request.set_tag(tag);
  return stub.Stats(&context, request);
}

bool AwaitStats(Events::Stub& stub, const std::string& tag,
                absl::FunctionRef<bool(const StatsReply&)> ready,
                double timeout_seconds, StatsReply* last) {
  const int64_t deadline =
      NowNs() + static_cast<int64_t>(timeout_seconds * 1e9);
  for (;;) {
    absl::StatusOr<StatsReply> reply = GetStats(stub, tag);
    if (!reply.ok()) {
      std::fprintf(stderr, "bench: Stats: %s\n",
                   reply.status().ToString().c_str());
      return false;
    }
    *last = *reply;
    if (ready(*reply)) return true;
    if (NowNs() > deadline) return false;
  }
}

bool WarmUp(WireLoad& load) {
  for (int i = 0; i < load.size(); ++i) {
    load.StartCall(i, kStatsMethod, StatsRequest());
  }
  const bool answered = load.Pump(
      [&] {
        for (int i = 0; i < load.size(); ++i) {
          if (load.counts(i).statuses < 1) return false;
        }
        return true;
      },
      kEventsTimeoutSeconds);
  if (!answered) {
    std::fprintf(stderr, "bench: events server: no answer (%s)\n",
                 FirstError(load).c_str());
  }
  return answered;
}

std::string FirstError(const WireLoad& load) {
  for (int i = 0; i < load.size(); ++i) {
    if (!load.counts(i).last_error.empty()) {
      return absl::StrFormat("connection %d: %s", i, load.counts(i).last_error);
    }
  }
  return "no error seen";
}

std::string Join(const std::vector<double>& values) {
  return absl::StrJoin(values, ", ", [](std::string* out, double value) {
    absl::StrAppend(out, absl::StrFormat("%.1f", value));
  });
}

}  // namespace bench
}  // namespace sockrpc
