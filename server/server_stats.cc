#include "server/server_stats.h"

#include <algorithm>
#include <utility>

#include "absl/numeric/bits.h"
#include "absl/time/clock.h"

namespace sockrpc {

void CodeCounts::Add(absl::StatusCode code) {
  int index = static_cast<int>(code);
  // A code outside the canonical ones (an application's own) counts as
  // UNKNOWN, as gRPC maps it on the wire.
  if (index < 0 || index >= kStatusCodes) {
    index = static_cast<int>(absl::StatusCode::kUnknown);
  }
  counts_[index].fetch_add(1, std::memory_order_relaxed);
}

int LatencyHistogram::BucketOf(uint64_t micros) {
  if (micros <= 1) return 0;
  // (2^(i-1), 2^i] holds the numbers whose predecessor has bit width i.
  return std::min(static_cast<int>(absl::bit_width(micros - 1)), kBounds);
}

void LatencyHistogram::Record(int64_t nanos) {
  const int64_t micros = std::max<int64_t>(0, nanos / 1000);
  buckets_[BucketOf(static_cast<uint64_t>(micros))].fetch_add(
      1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(micros),
                        std::memory_order_relaxed);
}

ServerStats::ServerStats() : start_time_(absl::Now()) {}

MethodStats* ServerStats::AddMethod(const Service::Method& method) {
  methods_.push_back(std::make_unique<MethodStats>(method));
  return methods_.back().get();
}

}  // namespace sockrpc
