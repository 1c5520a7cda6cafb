#include "server/server_stats.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace sockrpc {

ServerStats::ServerStats() : start_time_(absl::Now()) {}

MethodStats* ServerStats::AddMethod(const Service::Method& method) {
  methods_.push_back(std::make_unique<MethodStats>(method));
  return methods_.back().get();
}

}  // namespace sockrpc
