#include "tools/cli/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace sockrpc {
namespace cli {
namespace {

// Values below kExactLimit have a bucket each. Above, the power of two
// [2^e, 2^(e+1)) is cut into kSubBuckets buckets, for e from kFirstExponent
// to kLastExponent.
constexpr int kExactLimit = 128;
constexpr int kSubBucketBits = 6;
constexpr int kSubBuckets = 1 << kSubBucketBits;  // 64
constexpr int kFirstExponent = 7;                 // 2^7 == kExactLimit
constexpr int kLastExponent = 40;
constexpr int64_t kLargestBucketed = (int64_t{1} << (kLastExponent + 1)) - 1;
constexpr int kBucketCount =
    kExactLimit + (kLastExponent - kFirstExponent + 1) * kSubBuckets;

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

int LatencyHistogram::BucketOf(int64_t nanos) {
  if (nanos < kExactLimit) return static_cast<int>(nanos);
  nanos = std::min(nanos, kLargestBucketed);
  const int exponent = 63 - __builtin_clzll(static_cast<uint64_t>(nanos));
  const int64_t top = nanos >> (exponent - kSubBucketBits);  // [64, 128)
  return kExactLimit + (exponent - kFirstExponent) * kSubBuckets +
         static_cast<int>(top - kSubBuckets);
}

int64_t LatencyHistogram::BucketLow(int index) {
  if (index < kExactLimit) return index;
  const int k = index - kExactLimit;
  const int exponent = kFirstExponent + k / kSubBuckets;
  const int64_t top = kSubBuckets + k % kSubBuckets;
  return top << (exponent - kSubBucketBits);
}

int64_t LatencyHistogram::BucketWidth(int index) {
  if (index < kExactLimit) return 1;
  const int exponent = kFirstExponent + (index - kExactLimit) / kSubBuckets;
  return int64_t{1} << (exponent - kSubBucketBits);
}

int64_t LatencyHistogram::Representative(int index) const {
  const int64_t middle = BucketLow(index) + BucketWidth(index) / 2;
  return std::clamp(middle, min(), max());
}

void LatencyHistogram::Record(int64_t nanos) {
  nanos = std::max<int64_t>(nanos, 0);
  ++buckets_[BucketOf(nanos)];
  if (count_ == 0 || nanos < min_) min_ = nanos;
  if (count_ == 0 || nanos > max_) max_ = nanos;
  ++count_;
  sum_ += nanos;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

int64_t LatencyHistogram::mean() const {
  return count_ == 0 ? 0 : sum_ / static_cast<int64_t>(count_);
}

int64_t LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  if (percent >= 100) return max_;
  // The rank (from 1) of the value asked for; the small offset keeps
  // 99.9% of 1000 at rank 999 despite rounding.
  const double exact = percent / 100 * static_cast<double>(count_);
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact - 1e-9)));
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return Representative(i);
  }
  return max_;
}

std::vector<LatencyHistogram::Bar> LatencyHistogram::Bars(int bars) const {
  std::vector<Bar> result;
  if (count_ == 0 || bars < 1) return result;
  if (min_ == max_) {
    result.push_back(Bar{max_, count_});
    return result;
  }
  const double width = static_cast<double>(max_ - min_) / bars;
  result.resize(bars);
  for (int i = 0; i < bars; ++i) {
    result[i].up_to = min_ + static_cast<int64_t>(std::llround(width * (i + 1)));
  }
  result.back().up_to = max_;
  for (int i = 0; i < kBucketCount; ++i) {
    if (buckets_[i] == 0) continue;
    const double offset = static_cast<double>(Representative(i) - min_);
    // Bar b holds (min + b * width, min + (b + 1) * width]; min is in bar 0.
    int bar = static_cast<int>(std::ceil(offset / width)) - 1;
    result[std::clamp(bar, 0, bars - 1)].count += buckets_[i];
  }
  return result;
}

}  // namespace cli
}  // namespace sockrpc
