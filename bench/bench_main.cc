// sockrpc_bench: runs the benchmark suite and prints one table of our
// figures beside their baselines' (see docs/PERFORMANCE.md).
//
//   sockrpc_bench [--seconds S] [--out FILE.json] [--bin DIR]
//   sockrpc_bench --profile-unary ADDR N
//
// The servers (bench_server: our stack; raw_server: the raw baselines) run
// as child processes, started and stopped here; this process is the
// client. Each case is warmed up, then measured for S seconds (default 1).
// Every row is printed as it is measured, then the whole table again, and
// written as JSON to FILE.json (default build/bench.json).
//
// --profile-unary makes N unary 64 B calls to a bench_server already
// running at ADDR and exits: the client side of a profile (strace -c,
// valgrind --tool=callgrind; see docs/PERFORMANCE.md).
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "cases.h"
#include "child_process.h"
#include "measure.h"
#include "report.h"
#include "transport/frame.h"

namespace sockrpc {
namespace bench {
namespace {

struct Options {
  double seconds = 1.0;
  std::string out = "build/bench.json";
  std::string bin;  // directory of the bench binaries
};

// The directory this executable lives in.
std::string OwnDirectory() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/'));
}

std::string SizeName(size_t size) {
  if (size >= (1 << 20)) return absl::StrFormat("%d MiB", size >> 20);
  if (size >= (1 << 10)) return absl::StrFormat("%d KiB", size >> 10);
  return absl::StrFormat("%d B", size);
}

std::string Machine() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname name;
  uname(&name);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return absl::StrFormat("%s, %d online CPUs, Linux %s, load average %.2f "
                         "at start",
                         model, std::thread::hardware_concurrency(),
                         name.release, load[0]);
}

void PinThisThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i) {
      CPU_SET(i, &set);
    }
  } else {
    CPU_SET(cpu, &set);
  }
  sched_setaffinity(0, sizeof(set), &set);
}

// Unary round trips at one size over one transport, ours against raw.
void Unary(const Options& options, const std::string& transport,
           const ChildServer& rpc, const std::string& rpc_address,
           const ChildServer& raw, const std::string& raw_address,
           size_t size, const std::string& label, Report* report) {
  CaseSpec spec;
  spec.size = size;
  spec.seconds = options.seconds;
  spec.address = raw_address;
  spec.server = raw.pid();
  Result base = RawPingPong(spec);
  spec.address = rpc_address;
  spec.server = rpc.pid();
  Result ours = RpcUnary(spec);
  if (!base.ok || !ours.ok) {
    std::fprintf(stderr, "bench: unary %s %s failed\n", label.c_str(),
                 transport.c_str());
  }
  std::string name = "unary " + SizeName(size) + " " + transport + label;
  bool unix64 = transport == "unix" && size == 64;
  bool unix1m = transport == "unix" && size == (1 << 20);
  double p50_target = label.empty() ? 1.2 : 1.5;
  if (unix64 || unix1m) {
    report->Add(AtMost(name + " p50", "us", ours.p50_us, base.p50_us, "raw",
                       unix1m ? 1.3 : p50_target));
  } else {
    report->Add(Plain(name + " p50", "us", ours.p50_us, base.p50_us, "raw"));
  }
  report->Add(Plain(name + " p99", "us", ours.p99_us, base.p99_us, "raw"));
  report->Add(Plain(name + " rate", "calls/s", ours.rate(), base.rate(), "raw"));
  if (unix64) {
    report->Add(AtMost(name + " CPU/call", "us", ours.cpu_us_per_call,
                       base.cpu_us_per_call, "raw", 1.5));
  } else {
    report->Add(Plain(name + " CPU/call", "us", ours.cpu_us_per_call,
                    base.cpu_us_per_call, "raw"));
  }
}

void InFlight(const Options& options, const std::string& transport,
              const std::string& rpc_address, const std::string& raw_address,
              int in_flight, int connections, Report* report) {
  CaseSpec spec;
  spec.size = 64;
  spec.in_flight = in_flight;
  spec.connections = connections;
  spec.seconds = options.seconds;
  spec.address = raw_address;
  Result base = RawPipelined(spec);
  spec.address = rpc_address;
  Result ours = RpcInFlight(spec);
  if (!base.ok || !ours.ok) {
    std::fprintf(stderr, "bench: in-flight %d x %d %s failed\n", in_flight,
                 connections, transport.c_str());
  }
  std::string name = absl::StrFormat("64 B, %d in flight x %d conn %s",
                                     in_flight, connections, transport);
  if (in_flight >= 8) {
    report->Add(AtLeast(name, "calls/s", ours.rate(), base.rate(),
                        "raw pipelined", 0.5));
  } else {
    report->Add(
        Plain(name, "calls/s", ours.rate(), base.rate(), "raw pipelined"));
  }
}

// Idle RSS of a fresh server, then with 1000 idle connections (each has
// sent its preface).
void Memory(const Options& options, Report* report, const std::string& dir) {
  std::unique_ptr<ChildServer> server = ChildServer::Start(
      {options.bin + "/bench_server", "--listen", "unix:" + dir + "/mem.sock"});
  if (server == nullptr) return;
  ::usleep(300'000);
  int64_t idle = RssBytes(server->pid());
  Row idle_row = Plain("server RSS idle", "MB", idle / 1e6, 0, "");
  idle_row.target = "<= 6 MB";
  idle_row.met = idle <= 6'000'000;
  report->Add(idle_row);

  const int kConnections = 1000;
  char preface[kPrefaceSize];
  EncodePreface(preface);
  std::vector<int> fds;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/mem.sock";
  std::memcpy(addr.sun_path, path.data(), path.size());
  for (int i = 0; i < kConnections; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::write(fd, preface, sizeof(preface)) != sizeof(preface)) {
      std::perror("bench: idle connection");
      if (fd >= 0) ::close(fd);
      break;
    }
    fds.push_back(fd);
  }
  ::usleep(1'000'000);  // let the server accept and read every preface
  int64_t loaded = RssBytes(server->pid());
  Row loaded_row = Plain(absl::StrFormat("server RSS, %d idle conns", fds.size()),
                 "MB", loaded / 1e6, 0, "");
  report->Add(loaded_row);
  double per = fds.empty() ? 0 : (loaded - idle) / 1024.0 / fds.size();
  Row per_row = Plain("server memory per idle conn", "KiB", per, 0, "");
  per_row.target = "<= 2 KiB";
  per_row.met = per <= 2.0;
  report->Add(per_row);
  for (int fd : fds) ::close(fd);
}

void ClientSize(const Options& options, const std::string& address,
                Report* report) {
  std::string command = options.bin + "/minimal_client " + address;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return;
  long long binary = 0, so_bytes = 0;
  unsigned long so_count = 0;
  int matched = std::fscanf(pipe, "binary_bytes %lld so_bytes %lld so_count %lu",
                            &binary, &so_bytes, &so_count);
  ::pclose(pipe);
  if (matched != 3) {
    std::fprintf(stderr, "bench: minimal_client gave no sizes\n");
    return;
  }
  report->Add(Plain("minimal client binary", "MB", binary / 1e6, 0, ""));
  Row libs = Plain(absl::StrFormat("its %lu shared libraries", so_count), "MB",
           so_bytes / 1e6, 0, "");
  libs.target = "<= 10 MB";
  libs.met = so_bytes <= 10'000'000;
  report->Add(libs);
}

int Run(const Options& options) {
  // 1000 idle connections need more descriptors than the usual soft limit;
  // the servers inherit the raised limit.
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  char dir_template[] = "/tmp/sockrpc-bench.XXXXXX";
  const char* dir_name = ::mkdtemp(dir_template);
  if (dir_name == nullptr) {
    std::perror("bench: mkdtemp");
    return 1;
  }
  const std::string dir = dir_name;
  const std::string machine = Machine();
  std::printf("machine: %s\n\n", machine.c_str());

  Report report;
  {
    std::unique_ptr<ChildServer> rpc = ChildServer::Start(
        {options.bin + "/bench_server", "--listen", "unix:" + dir + "/rpc.sock",
         "--listen", "ipv4:127.0.0.1:0"});
    std::unique_ptr<ChildServer> raw = ChildServer::Start(
        {options.bin + "/raw_server", "--unix", dir + "/raw.sock", "--tcp"});
    if (rpc == nullptr || raw == nullptr || rpc->addresses().size() != 2 ||
        raw->addresses().size() != 2) {
      return 1;
    }
    const char* transports[] = {"unix", "tcp"};
    for (int t = 0; t < 2; ++t) {
      for (size_t size : {size_t{1}, size_t{64}, size_t{4} << 10,
                          size_t{64} << 10, size_t{1} << 20}) {
        Unary(options, transports[t], *rpc, rpc->addresses()[t], *raw,
              raw->addresses()[t], size, "", &report);
      }
    }
    for (int t = 0; t < 2; ++t) {
      for (int connections : {1, 4}) {
        for (int in_flight : {1, 8, 64}) {
          InFlight(options, transports[t], rpc->addresses()[t],
                   raw->addresses()[t], in_flight, connections, &report);
        }
      }
    }
    for (int t = 0; t < 2; ++t) {
      CaseSpec spec;
      spec.size = 64;
      spec.seconds = options.seconds;
      spec.address = raw->addresses()[t];
      Result base = RawStream(spec);
      spec.address = rpc->addresses()[t];
      Result ours = RpcStream(spec);
      report.Add(Plain(std::string("server streaming 64 B ") + transports[t],
                     "msgs/s", ours.rate(), base.rate(), "raw stream"));
    }
    for (int t = 0; t < 2; ++t) {
      CaseSpec spec;
      spec.seconds = options.seconds;
      spec.address = raw->addresses()[t];
      Result base = RawConnect(spec);
      spec.address = rpc->addresses()[t];
      Result ours = RpcConnect(spec);
      report.Add(Plain(std::string("connect + first call ") + transports[t] +
                         " p50",
                     "us", ours.p50_us, base.p50_us, "raw"));
    }
    ClientSize(options, rpc->addresses()[0], &report);
  }
  {
    // Everything on one core: both servers and this thread on CPU 0.
    std::unique_ptr<ChildServer> rpc = ChildServer::Start(
        {options.bin + "/bench_server", "--listen",
         "unix:" + dir + "/rpc1.sock"},
        0);
    std::unique_ptr<ChildServer> raw = ChildServer::Start(
        {options.bin + "/raw_server", "--unix", dir + "/raw1.sock"}, 0);
    if (rpc != nullptr && raw != nullptr) {
      PinThisThread(0);
      Unary(options, "unix", *rpc, rpc->addresses()[0], *raw,
            raw->addresses()[0], 64, ", 1 core", &report);
      PinThisThread(-1);
    }
  }
  Memory(options, &report, dir);

  report.PrintTable();
  if (!options.out.empty()) {
    if (!report.WriteJson(options.out, machine)) {
      std::fprintf(stderr, "bench: cannot write %s\n", options.out.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", options.out.c_str());
  }
  ::rmdir(dir.c_str());  // the servers removed their sockets
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace sockrpc

int main(int argc, char** argv) {
  sockrpc::bench::Options options;
  options.bin = sockrpc::bench::OwnDirectory();
  if (argc == 4 && std::string(argv[1]) == "--profile-unary") {
    sockrpc::bench::CaseSpec spec;
    spec.address = argv[2];
    return sockrpc::bench::RpcUnaryCalls(spec, std::atol(argv[3])) ? 0 : 1;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::atof(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      options.out = argv[++i];
    } else if (arg == "--bin" && i + 1 < argc) {
      options.bin = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: sockrpc_bench [--seconds S] [--out FILE.json] "
                   "[--bin DIR]\n");
      return 2;
    }
  }
  if (options.seconds <= 0) options.seconds = 1.0;
  return sockrpc::bench::Run(options);
}
