#include "tools/cli/bench_result.h"

namespace sockrpc {
namespace cli {

void StatusTally::Record(const absl::Status& status, int64_t end_nanos) {
  int code = static_cast<int>(status.code());
  if (code < 0 || code >= kCodes) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  Slot& slot = slots_[code];
  if (slot.count++ == 0 && !status.ok()) {
    slot.first_at = end_nanos;
    slot.first_message = std::string(status.message());
  }
}

void StatusTally::Merge(const StatusTally& other) {
  for (int code = 0; code < kCodes; ++code) {
    Slot& slot = slots_[code];
    const Slot& theirs = other.slots_[code];
    if (theirs.count == 0) continue;
    if (slot.count == 0 || theirs.first_at < slot.first_at) {
      slot.first_at = theirs.first_at;
      slot.first_message = theirs.first_message;
    }
    slot.count += theirs.count;
  }
}

uint64_t StatusTally::total() const {
  uint64_t total = 0;
  for (const Slot& slot : slots_) total += slot.count;
  return total;
}

uint64_t StatusTally::count(absl::StatusCode code) const {
  const int index = static_cast<int>(code);
  return index >= 0 && index < kCodes ? slots_[index].count : 0;
}

std::vector<StatusTally::Entry> StatusTally::Entries() const {
  std::vector<Entry> entries;
  for (int code = 0; code < kCodes; ++code) {
    const Slot& slot = slots_[code];
    if (slot.count == 0) continue;
    entries.push_back(Entry{static_cast<absl::StatusCode>(code), slot.count,
                            slot.first_message});
  }
  return entries;
}

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kTotal:
      return "total";
    case StopReason::kDuration:
      return "duration";
    case StopReason::kSignal:
      return "signal";
  }
  return "total";
}

void BenchResult::Merge(const BenchResult& other) {
  latencies.Merge(other.latencies);
  statuses.Merge(other.statuses);
  messages += other.messages;
}

}  // namespace cli
}  // namespace sockrpc
