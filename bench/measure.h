// Measurement helpers of the benchmark runner: a latency recorder, clocks,
// and CPU time of this process and of a child. Internal to bench/.
#ifndef SOCKRPC_BENCH_MEASURE_H_
#define SOCKRPC_BENCH_MEASURE_H_

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace sockrpc {
namespace bench {

// NowNs: CLOCK_MONOTONIC in nanoseconds.
int64_t NowNs();
// SelfCpuNs: user + system CPU time of this whole process, in nanoseconds.
int64_t SelfCpuNs();
// ChildCpuNs: user + system CPU time of process `pid` so far (from
// /proc/PID/stat, so in clock ticks: 10 ms granularity), or -1.
int64_t ChildCpuNs(pid_t pid);
// RssBytes: resident set size of process `pid` (VmRSS), or -1.
int64_t RssBytes(pid_t pid);
// AnonymousRssBytes: the part of it that is the process's own memory
// (RssAnon: heap, stacks, written data), not pages of mapped files such as
// shared libraries, or -1.
int64_t AnonymousRssBytes(pid_t pid);
// ThreadCount: threads of process `pid` (entries of /proc/PID/task), or -1.
int ThreadCount(pid_t pid);

// Latencies: records one duration per call; not thread-safe (one per
// thread, then Merge()).
class Latencies {
 public:
  Latencies() { samples_.reserve(1 << 20); }
  void Add(int64_t ns) { samples_.push_back(ns); }
  void Merge(const Latencies& other);
  size_t count() const { return samples_.size(); }
  // Percentile(0.5) is the median; 0 if empty. Sorts on first use.
  int64_t Percentile(double fraction);

 private:
  std::vector<int64_t> samples_;
  bool sorted_ = false;
};

// Result: what one benchmark run measured, on one side of a comparison.
struct Result {
  bool ok = false;
  int64_t calls = 0;       // calls (or messages) completed in the window
  double seconds = 0;      // length of the measured window
  double p50_us = 0;       // 0 where latency was not recorded
  double p99_us = 0;
  double cpu_us_per_call = 0;  // client + server CPU, per call
  double rate() const { return seconds > 0 ? calls / seconds : 0; }
};

// Window: a measured interval after a warm-up. Loops call Continue()
// after each call; it says when the warm-up ends (Measuring()) and the
// window is over. It also takes the CPU time used during the window by
// this process and, if `server` is not 0, by the server process.
class Window {
 public:
  Window(double warmup_seconds, double seconds, pid_t server = 0);
  // True while calls should go on; starts the window at the end of the
  // warm-up.
  bool Continue();
  bool Measuring() const { return measuring_; }
  // Seconds measured (valid once Continue() returned false).
  double seconds() const { return (end_ns_ - start_ns_) * 1e-9; }
  // Client plus server CPU time in the window, in nanoseconds.
  int64_t cpu_ns() const { return cpu_end_ns_ - cpu_start_ns_; }

 private:
  int64_t CpuNow() const;

  pid_t server_;
  int64_t cpu_start_ns_ = 0;
  int64_t cpu_end_ns_ = 0;
  int64_t warmup_end_ns_;
  int64_t window_ns_;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  bool measuring_ = false;
};

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_MEASURE_H_
