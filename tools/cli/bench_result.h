// What a `sockrpc bench` run measured: call latencies, how many calls
// ended with each status code (and the first message of each failing
// code), replies received, and how long the run took. Internal to
// tools/cli.
//
// Thread-compatible: each worker fills its own BenchResult; the run merges
// them once the workers are done.
#ifndef SOCKRPC_TOOLS_CLI_BENCH_RESULT_H_
#define SOCKRPC_TOOLS_CLI_BENCH_RESULT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/cli/latency_histogram.h"

namespace sockrpc {
namespace cli {

// StatusTally counts calls by status code and keeps, for each code but OK,
// the message of its earliest call.
class StatusTally {
 public:
  // One status code's line.
  struct Entry {
    absl::StatusCode code = absl::StatusCode::kOk;
    uint64_t count = 0;
    std::string first_message;  // empty for OK
  };

  // Counts a call that ended with `status` at `end_nanos` (on any clock
  // shared by the tallies to be merged). A code outside gRPC's 0..16
  // counts as UNKNOWN.
  void Record(const absl::Status& status, int64_t end_nanos);
  // Adds `other`'s counts; the earlier first message of a code wins.
  void Merge(const StatusTally& other);

  // Calls counted, in all.
  uint64_t total() const;
  uint64_t count(absl::StatusCode code) const;
  // The codes seen, in code order (OK first).
  std::vector<Entry> Entries() const;

 private:
  static constexpr int kCodes = 17;  // OK (0) to UNAUTHENTICATED (16)
  struct Slot {
    uint64_t count = 0;
    int64_t first_at = 0;
    std::string first_message;
  };
  std::array<Slot, kCodes> slots_;
};

// Why a run ended.
enum class StopReason {
  kTotal,     // --total calls made
  kDuration,  // --duration passed
  kSignal,    // SIGINT or SIGTERM
};

// "total", "duration" or "signal".
const char* StopReasonName(StopReason reason);

// BenchResult: the measurements of a run, or of one worker.
struct BenchResult {
  // Every counted call, whatever its status: from starting the call to
  // its final status.
  LatencyHistogram latencies;
  StatusTally statuses;
  // Reply messages received (one per OK unary call).
  uint64_t messages = 0;
  // From the start of the run to its end: the last call done, or the stop.
  absl::Duration elapsed = absl::ZeroDuration();
  StopReason stopped_by = StopReason::kTotal;

  // Adds `other`'s calls (not its elapsed time or stop reason).
  void Merge(const BenchResult& other);
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_BENCH_RESULT_H_
