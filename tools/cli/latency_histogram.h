// LatencyHistogram: call latencies of a `sockrpc bench` run, kept in
// log-linear buckets so that memory stays fixed however long the run is.
// Internal to tools/cli.
//
// Values are nanoseconds. Below 128 ns every value has its own bucket;
// above, each power of two is cut into 64 equal buckets, so a bucket is at
// most 1/64 of its values wide and a percentile read from the buckets is
// within 0.8% of the true one. Values from 2^41 ns (about 36 minutes) on
// share the last bucket. The exact count, sum, fastest and slowest are kept
// too.
//
// Thread-compatible: each bench worker records into its own histogram, and
// the histograms are merged once the workers are done. About 18 KiB each,
// allocated by the constructor (Record() never allocates).
#ifndef SOCKRPC_TOOLS_CLI_LATENCY_HISTOGRAM_H_
#define SOCKRPC_TOOLS_CLI_LATENCY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace sockrpc {
namespace cli {

class LatencyHistogram {
 public:
  // One bar of Bars(): how many values lie above the previous bar's
  // `up_to` (or at min(), for the first) and up to this one's.
  struct Bar {
    int64_t up_to = 0;
    uint64_t count = 0;
  };

  LatencyHistogram();

  // Adds one value; a negative one counts as 0.
  void Record(int64_t nanos);
  // Adds every value of `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // Exact; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  int64_t mean() const;

  // The value below or at which `percent` (0 to 100) of the values lie:
  // the middle of the bucket holding that rank, kept within [min, max].
  // 0 when empty.
  int64_t Percentile(double percent) const;

  // `bars` bars of equal width from min() to max() (one if min() == max()),
  // counting every value once, in the bar where its bucket's middle falls;
  // empty when there are no values.
  std::vector<Bar> Bars(int bars) const;

 private:
  // The bucket that holds `nanos`, and the values bucket `index` holds.
  static int BucketOf(int64_t nanos);
  static int64_t BucketLow(int index);
  static int64_t BucketWidth(int index);
  // The middle of bucket `index`, within [min(), max()].
  int64_t Representative(int index) const;

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  // The sum in nanoseconds; a 64-bit sum holds 292 years of latency.
  int64_t sum_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_LATENCY_HISTOGRAM_H_
