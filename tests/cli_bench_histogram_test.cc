// Tests of what `sockrpc bench` measures and reports, without a server:
// the latency histogram's percentiles and bars, the status tally, and the
// JSON report's form.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tools/cli/bench_report.h"
#include "tools/cli/bench_result.h"
#include "tools/cli/latency_histogram.h"

namespace sockrpc {
namespace cli {
namespace {

using ::testing::HasSubstr;

// Within 1% of `expected` (the histogram promises 0.8%).
void ExpectNear(int64_t actual, int64_t expected) {
  EXPECT_NEAR(static_cast<double>(actual), static_cast<double>(expected),
              static_cast<double>(expected) / 100);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.max(), 0);
  EXPECT_EQ(histogram.mean(), 0);
  EXPECT_EQ(histogram.Percentile(50), 0);
  EXPECT_TRUE(histogram.Bars(10).empty());
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int64_t value = 100; value >= 1; --value) histogram.Record(value);
  EXPECT_EQ(histogram.count(), 100u);
  EXPECT_EQ(histogram.min(), 1);
  EXPECT_EQ(histogram.max(), 100);
  EXPECT_EQ(histogram.mean(), 50);  // 5050 / 100, rounded down
  EXPECT_EQ(histogram.Percentile(10), 10);
  EXPECT_EQ(histogram.Percentile(50), 50);
  EXPECT_EQ(histogram.Percentile(99), 99);
  EXPECT_EQ(histogram.Percentile(99.9), 100);
  EXPECT_EQ(histogram.Percentile(100), 100);
  EXPECT_EQ(histogram.Percentile(0), 1);
}

TEST(LatencyHistogramTest, PercentilesOfLargeValuesAreWithinOnePercent) {
  // 1 us, 2 us, ... 100 ms.
  LatencyHistogram histogram;
  for (int64_t i = 1; i <= 100000; ++i) histogram.Record(i * 1000);
  ExpectNear(histogram.Percentile(10), 10000 * 1000);
  ExpectNear(histogram.Percentile(50), 50000 * 1000);
  ExpectNear(histogram.Percentile(90), 90000 * 1000);
  ExpectNear(histogram.Percentile(99), 99000 * 1000);
  ExpectNear(histogram.Percentile(99.9), 99900 * 1000);
  EXPECT_EQ(histogram.min(), 1000);
  EXPECT_EQ(histogram.max(), 100000 * 1000);
  EXPECT_EQ(histogram.mean(), 50000500);
}

TEST(LatencyHistogramTest, MergingEqualsRecordingIntoOne) {
  LatencyHistogram all, even, odd;
  for (int64_t i = 1; i <= 5000; ++i) {
    const int64_t value = i * i * 37;  // spread over many powers of two
    all.Record(value);
    (i % 2 == 0 ? even : odd).Record(value);
  }
  LatencyHistogram merged;
  merged.Merge(even);
  merged.Merge(LatencyHistogram());  // an idle worker
  merged.Merge(odd);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_EQ(merged.mean(), all.mean());
  for (double percent : kReportedPercentiles) {
    EXPECT_EQ(merged.Percentile(percent), all.Percentile(percent)) << percent;
  }
}

TEST(LatencyHistogramTest, BarsCountEveryValueOnceInOrder) {
  LatencyHistogram histogram;
  uint64_t state = 12345;
  for (int i = 0; i < 10000; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    histogram.Record(static_cast<int64_t>(20000 + (state >> 40) % 5000000));
  }
  std::vector<LatencyHistogram::Bar> bars = histogram.Bars(10);
  ASSERT_EQ(bars.size(), 10u);
  uint64_t counted = 0;
  int64_t previous = histogram.min();
  for (const LatencyHistogram::Bar& bar : bars) {
    EXPECT_GT(bar.up_to, previous);
    previous = bar.up_to;
    counted += bar.count;
  }
  EXPECT_EQ(counted, histogram.count());
  EXPECT_EQ(bars.back().up_to, histogram.max());
}

TEST(LatencyHistogramTest, OneDistinctValueMakesOneBar) {
  LatencyHistogram histogram;
  for (int i = 0; i < 3; ++i) histogram.Record(123456);
  std::vector<LatencyHistogram::Bar> bars = histogram.Bars(10);
  ASSERT_EQ(bars.size(), 1u);
  EXPECT_EQ(bars[0].up_to, 123456);
  EXPECT_EQ(bars[0].count, 3u);
  EXPECT_EQ(histogram.Percentile(50), 123456);  // kept within [min, max]
}

TEST(LatencyHistogramTest, HugeAndNegativeValuesStayInRange) {
  LatencyHistogram histogram;
  const int64_t hour = int64_t{3600} * 1000 * 1000 * 1000;
  histogram.Record(hour);
  histogram.Record(-5);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.max(), hour);
  EXPECT_EQ(histogram.Percentile(100), hour);
  EXPECT_GT(histogram.Percentile(99), 0);
  EXPECT_LE(histogram.Percentile(99), hour);
}

TEST(StatusTallyTest, CountsByCodeAndKeepsTheEarliestMessage) {
  StatusTally first, second;
  first.Record(absl::OkStatus(), 1);
  first.Record(absl::UnavailableError("late"), 50);
  second.Record(absl::UnavailableError("early"), 10);
  second.Record(absl::UnavailableError("later still"), 60);
  second.Record(absl::Status(static_cast<absl::StatusCode>(99), "odd"), 5);
  first.Merge(second);
  EXPECT_EQ(first.total(), 5u);
  std::vector<StatusTally::Entry> entries = first.Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].code, absl::StatusCode::kOk);
  EXPECT_EQ(entries[0].count, 1u);
  EXPECT_EQ(entries[1].code, absl::StatusCode::kUnknown);
  EXPECT_EQ(entries[1].first_message, "odd");
  EXPECT_EQ(entries[2].code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(entries[2].count, 3u);
  EXPECT_EQ(entries[2].first_message, "early");
}

TEST(BenchReportTest, JsonReportOfARunWithNoCallsIsValid) {
  BenchSetup setup;
  setup.address = "unix:/tmp/x.sock";
  setup.method = "a.B/C";
  setup.concurrency = 2;
  setup.connections = 1;
  setup.duration = absl::Milliseconds(300);
  setup.deadline = absl::Seconds(20);
  BenchResult result;
  result.stopped_by = StopReason::kSignal;
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  FormatJsonReport(setup, result), &report)
                  .ok());
  EXPECT_EQ(report.fields().at("calls").number_value(), 0);
  EXPECT_EQ(report.fields().at("stoppedBy").string_value(), "signal");
  EXPECT_EQ(report.fields().at("durationNs").number_value(), 3e8);
  EXPECT_THAT(FormatTextReport(setup, result),
              HasSubstr("(no calls completed)"));
}

TEST(BenchReportTest, ErrorMessagesAreQuotedInJson) {
  BenchSetup setup;
  setup.total = 1;
  BenchResult result;
  result.latencies.Record(1000);
  result.statuses.Record(absl::InternalError("a \"quoted\"\nmessage"), 1);
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  FormatJsonReport(setup, result), &report)
                  .ok());
  EXPECT_EQ(report.fields()
                .at("statusCodes")
                .struct_value()
                .fields()
                .at("INTERNAL")
                .struct_value()
                .fields()
                .at("firstError")
                .string_value(),
            "a \"quoted\"\nmessage");
}

}  // namespace
}  // namespace cli
}  // namespace sockrpc
