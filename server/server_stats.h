// The numbers the stats service reports (server/stats_service.h,
// docs/PROTOCOL.md section 18), as the runtime counts them. Internal to the
// server runtime.
//
// ServerStats exists only when ServerOptions::enable_stats_service is set;
// the runtime makes one MethodStats per registered method at Start(), and
// every call holds its method's (ServerCallState), or none when stats are
// off. A call is counted twice: started when its HEADERS is accepted,
// ended once, with its final status code and its duration, when its STATUS
// is written or it ends silently (cancelled, client gone).
//
// Costs on the call path: relaxed atomic additions on counters of the
// call's method (no lock, no allocation); readers add them up while calls
// run, so a snapshot may be a call behind here and there, never torn in a
// single counter.
//
// Thread-safe: every member may be used from any thread.
#ifndef SOCKRPC_SERVER_SERVER_STATS_H_
#define SOCKRPC_SERVER_SERVER_STATS_H_

#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/service.h"
#include "transport/peer_credentials.h"

namespace sockrpc {

// A count that one thread at a time adds to (under the lock its owner
// holds for that) and any thread reads: relaxed load and store, no atomic
// read-modify-write.
class SingleWriterCounter {
 public:
  void Add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n,
                 std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// The monotonic clock, in nanoseconds: what a call's duration is measured
// with (one vDSO clock_gettime() at each end; absl::Now() costs several
// times the instructions).
inline int64_t MonotonicNanos() {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// absl::StatusCode numbers 0 (OK) to 16 (UNAUTHENTICATED).
inline constexpr int kStatusCodes = 17;

// Counts by status code.
class CodeCounts {
 public:
  void Add(absl::StatusCode code) {
    int index = static_cast<int>(code);
    // A code outside the canonical ones (an application's own) counts as
    // UNKNOWN, as gRPC maps it on the wire.
    if (index < 0 || index >= kStatusCodes) {
      index = static_cast<int>(absl::StatusCode::kUnknown);
    }
    counts_[index].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t Get(int code) const {
    return counts_[code].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kStatusCodes> counts_{};
};

// Durations in buckets that double: bucket i holds (2^(i-1), 2^i] us, the
// first [0, 1] us, the last everything above 2^(kBounds-1) us (about
// 33.5 s).
class LatencyHistogram {
 public:
  static constexpr int kBounds = 26;
  static constexpr int kBuckets = kBounds + 1;
  static constexpr uint64_t UpperBoundMicros(int bucket) {
    return uint64_t{1} << bucket;
  }
  // The bucket of a call that took `micros`.
  static int BucketOf(uint64_t micros) {
    if (micros <= 1) return 0;
    // (2^(i-1), 2^i] holds the numbers whose predecessor has bit width i.
    return std::min(static_cast<int>(absl::bit_width(micros - 1)), kBounds);
  }

  void Record(int64_t nanos) {
    const int64_t micros = std::max<int64_t>(0, nanos / 1000);
    buckets_[BucketOf(static_cast<uint64_t>(micros))].fetch_add(
        1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<uint64_t>(micros),
                          std::memory_order_relaxed);
  }
  uint64_t count(int bucket) const {
    return buckets_[bucket].load(std::memory_order_relaxed);
  }
  uint64_t sum_micros() const {
    return sum_micros_.load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_micros_{0};
};

// One method's numbers.
class MethodStats {
 public:
  explicit MethodStats(const Service::Method& method) : method_(method) {}

  void CallStarted() { started_.fetch_add(1, std::memory_order_relaxed); }
  // A call that started at `start_nanos` (MonotonicNanos()) ended now.
  void CallEnded(absl::StatusCode code, int64_t start_nanos) {
    latency_.Record(MonotonicNanos() - start_nanos);
    finished_.Add(code);
  }

  const Service::Method& method() const { return method_; }
  uint64_t started() const { return started_.load(std::memory_order_relaxed); }
  const CodeCounts& finished() const { return finished_; }
  const LatencyHistogram& latency() const { return latency_; }

 private:
  const Service::Method& method_;  // owned by its Service
  std::atomic<uint64_t> started_{0};
  CodeCounts finished_;
  LatencyHistogram latency_;
};

// One open connection, as the stats service lists it.
struct ConnectionSnapshot {
  uint64_t id = 0;
  std::string peer;
  std::optional<PeerCredentials> credentials;
  absl::Time connected_at;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  size_t calls_in_flight = 0;
};

// The open connections: up to a limit of them, oldest first, and the
// totals of all.
struct ConnectionsSnapshot {
  std::vector<ConnectionSnapshot> listed;
  uint64_t open = 0;
  uint64_t bytes_received = 0;  // of the open connections
  uint64_t bytes_sent = 0;
};

// The server's numbers.
class ServerStats {
 public:
  ServerStats();

  // At Start(), once per registered method (before any call); the result
  // lives as long as this.
  MethodStats* AddMethod(const Service::Method& method);
  const std::vector<std::unique_ptr<MethodStats>>& methods() const {
    return methods_;
  }

  // A call refused before it reached a method (ServerConnection's
  // refusals).
  void CallRefused(absl::StatusCode code) { refused_.Add(code); }
  const CodeCounts& refused() const { return refused_; }

  // A connection entered the server; one left, having moved these bytes.
  void ConnectionOpened() { accepted_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed(uint64_t bytes_received, uint64_t bytes_sent) {
    closed_bytes_received_.fetch_add(bytes_received, std::memory_order_relaxed);
    closed_bytes_sent_.fetch_add(bytes_sent, std::memory_order_relaxed);
  }
  uint64_t accepted() const {
    return accepted_.load(std::memory_order_relaxed);
  }
  uint64_t closed_bytes_received() const {
    return closed_bytes_received_.load(std::memory_order_relaxed);
  }
  uint64_t closed_bytes_sent() const {
    return closed_bytes_sent_.load(std::memory_order_relaxed);
  }

  absl::Time start_time() const { return start_time_; }

 private:
  const absl::Time start_time_;
  std::vector<std::unique_ptr<MethodStats>> methods_;  // fixed at Start()
  CodeCounts refused_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> closed_bytes_received_{0};
  std::atomic<uint64_t> closed_bytes_sent_{0};
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_STATS_H_
