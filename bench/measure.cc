#include "measure.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace sockrpc {
namespace bench {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t SelfCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t ChildCpuNs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // Fields after the ")" that closes the command name: state is field 3,
  // utime 14 and stime 15.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return (utime + stime) * (1000000000LL / sysconf(_SC_CLK_TCK));
}

namespace {

// The size in /proc/PID/status line `field` ("VmRSS:   1234 kB"), or -1.
int64_t StatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::stoll(line.substr(field.size())) * 1024;
    }
  }
  return -1;
}

}  // namespace

int64_t RssBytes(pid_t pid) { return StatusBytes(pid, "VmRSS:"); }

int64_t AnonymousRssBytes(pid_t pid) { return StatusBytes(pid, "RssAnon:"); }

int ThreadCount(pid_t pid) {
  DIR* tasks = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (tasks == nullptr) return -1;
  int count = 0;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(tasks);
  return count;
}

void Latencies::Merge(const Latencies& other) {
  samples_.insert(samples_.end(), other.samples_.begin(),
                  other.samples_.end());
  sorted_ = false;
}

int64_t Latencies::Percentile(double fraction) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  size_t index = static_cast<size_t>(fraction * (samples_.size() - 1) + 0.5);
  return samples_[std::min(index, samples_.size() - 1)];
}

Window::Window(double warmup_seconds, double seconds, pid_t server)
    : server_(server),
      warmup_end_ns_(NowNs() + static_cast<int64_t>(warmup_seconds * 1e9)),
      window_ns_(static_cast<int64_t>(seconds * 1e9)) {}

bool Window::Continue() {
  int64_t now = NowNs();
  if (!measuring_) {
    if (now < warmup_end_ns_) return true;
    measuring_ = true;
    cpu_start_ns_ = CpuNow();
    start_ns_ = NowNs();
    return true;
  }
  if (now - start_ns_ < window_ns_) return true;
  end_ns_ = now;
  cpu_end_ns_ = CpuNow();
  return false;
}

int64_t Window::CpuNow() const {
  int64_t cpu = SelfCpuNs();
  if (server_ != 0) cpu += ChildCpuNs(server_);
  return cpu;
}

}  // namespace bench
}  // namespace sockrpc
