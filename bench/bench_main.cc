// sockrpc_bench: runs the benchmark suite and prints one table of our
// figures beside their baselines' (see docs/PERFORMANCE.md).
//
//   sockrpc_bench [--seconds S] [--out FILE.json] [--bin DIR] [--quick]
//                 [--open-streams]
//   sockrpc_bench --profile-unary ADDR N [SIZE]
//   sockrpc_bench --profile-in-flight ADDR K N [--batch]
//   sockrpc_bench --profile-publish ADDR STREAMS EVENTS
//   sockrpc_bench --profile-stream ADDR N [SIZE [--hint]]
//   sockrpc_bench --profile-callback ADDR K SECONDS [--batch]
//
// The servers (bench_server: our stack; raw_server: the raw baselines;
// grpc_bench_server: the gRPC baseline, where built) run as child
// processes, started and stopped here. This process is the client of our
// cases and of the raw ones; the gRPC cases run in grpc_bench_client
// processes (grpc_baseline.h). Each case is warmed up, then measured for
// S seconds (default 1). Every row is printed as it is measured, then the
// whole table again, and written as JSON to FILE.json (default
// build/bench.json). --quick measures only the unary 64 B rows (two
// cores and one core), 8 and 64 calls in flight on one unix connection
// and the cost of the live stats (stats_cost.cc), for tuning. --open-streams
// measures only the open-streams rows (open_streams.cc: 10k and 100k open
// server-streaming calls, and a full handler pool), which the whole run
// measures last.
//
// --profile-unary makes N unary calls of SIZE bytes (64 unless given) to a
// bench_server already running at ADDR and exits: the client side of a
// profile (strace -c, valgrind --tool=callgrind; see docs/PERFORMANCE.md).
// --profile-in-flight makes about N 64 B calls K at a time on one
// connection (--batch: with ChannelOptions::batch_call_starts, as the
// in-flight rows do).
// --profile-publish opens STREAMS Events.Subscribe calls on a bench_server
// at ADDR and publishes EVENTS events to them, one after another.
// --profile-callback keeps K chains of 64 B calls through the client's
// callback API (each started by the one before's completion) for SECONDS
// and prints the rate.
// --profile-stream reads one Stream call of N messages of SIZE bytes (64
// unless given) and prints the rate; --hint: the server writes them with
// the buffer hint.
#include <dirent.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "cases.h"
#include "child_process.h"
#include "grpc_baseline.h"
#include "report.h"
#include "suite.h"

namespace sockrpc {
namespace bench {
namespace {

// The directory this executable lives in.
std::string OwnDirectory() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/'));
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

// RemoveDirectory removes `dir` and the files in it (sockets a server
// left behind: raw_server dies by SIGTERM without removing its own).
void RemoveDirectory(const std::string& dir) {
  if (DIR* entries = ::opendir(dir.c_str())) {
    while (dirent* entry = ::readdir(entries)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(entries);
  }
  ::rmdir(dir.c_str());
}

// StartServers starts our server, the raw one and (where built) gRPC's,
// each on a unix socket in `dir` named after `tag`, and on TCP loopback
// if `tcp`, pinned to `cpu` if >= 0. False if ours or the raw one did not
// start; a gRPC server that did not start only leaves servers->grpc null.
bool StartServers(const Options& options, const std::string& dir,
                  const std::string& tag, bool tcp, int cpu,
                  Servers* servers) {
  const size_t transports = tcp ? 2 : 1;
  std::vector<std::string> rpc_argv = {options.bin + "/bench_server",
                                       "--listen",
                                       "unix:" + dir + "/rpc" + tag + ".sock"};
  std::vector<std::string> raw_argv = {options.bin + "/raw_server", "--unix",
                                       dir + "/raw" + tag + ".sock"};
  std::vector<std::string> grpc_addresses = {"unix:" + dir + "/grpc" + tag +
                                             ".sock"};
  if (tcp) {
    rpc_argv.insert(rpc_argv.end(), {"--listen", "ipv4:127.0.0.1:0"});
    raw_argv.push_back("--tcp");
    grpc_addresses.push_back("ipv4:127.0.0.1:0");
  }
  servers->rpc = ChildServer::Start(rpc_argv, cpu);
  servers->raw = ChildServer::Start(raw_argv, cpu);
  servers->grpc = StartGrpcServer(options.bin, grpc_addresses, cpu);
  return servers->rpc != nullptr && servers->raw != nullptr &&
         servers->rpc->addresses().size() == transports &&
         servers->raw->addresses().size() == transports;
}

// CallPathRows: the rows measured against one set of servers on both
// transports (all of them, or --quick's few). False if the servers did
// not start.
bool CallPathRows(const Options& options, const std::string& dir,
                  Report* report) {
  Servers servers;
  if (!StartServers(options, dir, "", /*tcp=*/true, -1, &servers)) {
    return false;
  }
  if (options.quick) {
    UnaryRows(options, servers, kUnix, 64, "", -1, report);
    for (int in_flight : {8, 64}) {
      InFlightRows(options, servers, kUnix, in_flight, 1, report);
    }
    GatewayRows(options, servers, dir, report);
    TlsRows(options, servers, dir, report);
    return true;
  }
  for (Transport transport : {kUnix, kTcp}) {
    for (size_t size : {size_t{1}, size_t{64}, size_t{4} << 10,
                        size_t{64} << 10, size_t{1} << 20}) {
      UnaryRows(options, servers, transport, size, "", -1, report);
    }
  }
  for (Transport transport : {kUnix, kTcp}) {
    for (int connections : {1, 4}) {
      for (int in_flight : {1, 8, 64}) {
        InFlightRows(options, servers, transport, in_flight, connections,
                     report);
      }
    }
  }
  for (Transport transport : {kUnix, kTcp}) {
    StreamRows(options, servers, transport, report);
  }
  for (Transport transport : {kUnix, kTcp}) {
    ConnectRows(options, servers, transport, report);
  }
  ClientSizeRows(options, servers, report);
  GatewayRows(options, servers, dir, report);
  TlsRows(options, servers, dir, report);
  return true;
}

int Run(const Options& options) {
  // 1000 idle connections need more descriptors than the usual soft limit;
  // the servers and clients started from here inherit the raised limit.
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
  std::printf("machine: %s\n", machine.c_str());
  if (GrpcBuilt()) {
    std::printf("gRPC baseline: gRPC %s, synchronous server\n",
                GrpcVersion().c_str());
  } else {
    std::printf("%s\n", kGrpcNotBuilt);
  }
  std::printf("\n");

  Report report(GrpcVersion());
  if (!options.open_streams_only) {
    if (!CallPathRows(options, dir, &report)) return 1;
    // Everything on one core: the servers, this thread and the gRPC
    // client on CPU 0.
    Servers servers;
    if (StartServers(options, dir, "1", /*tcp=*/false, 0, &servers)) {
      PinThisThread(0);
      UnaryRows(options, servers, kUnix, 64, ", 1 core", 0, &report);
      PinThisThread(-1);
    }
    StatsCostRows(options, dir, &report);
    CallbackApiRows(options, dir, &report);
    CallCostRows(options, dir, &report);
  }
  if (!options.quick && !options.open_streams_only) {
    MemoryRows(options, dir, &report);
  }
  if (!options.quick || options.open_streams_only) {
    OpenStreamRows(options, dir, &report);
    FullPoolRows(options, dir, &report);
  }

  report.PrintTable();
  if (!GrpcBuilt()) std::printf("\n%s\n", kGrpcNotBuilt);
  if (!options.out.empty()) {
    if (!report.WriteJson(options.out, machine)) {
      std::fprintf(stderr, "bench: cannot write %s\n", options.out.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", options.out.c_str());
  }
  RemoveDirectory(dir);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace sockrpc

int main(int argc, char** argv) {
  sockrpc::bench::Options options;
  options.bin = sockrpc::bench::OwnDirectory();
  if ((argc == 4 || argc == 5) &&
      std::string(argv[1]) == "--profile-unary") {
    sockrpc::bench::CaseSpec spec;
    spec.address = argv[2];
    if (argc == 5) spec.size = std::strtoul(argv[4], nullptr, 10);
    return sockrpc::bench::RpcUnaryCalls(spec, std::atol(argv[3])) ? 0 : 1;
  }
  if ((argc == 5 || (argc == 6 && std::string(argv[5]) == "--batch")) &&
      std::string(argv[1]) == "--profile-in-flight") {
    sockrpc::bench::CaseSpec spec;
    spec.address = argv[2];
    spec.in_flight = std::max(1, std::atoi(argv[3]));
    spec.batch = argc == 6;
    return sockrpc::bench::RpcInFlightCalls(spec, std::atol(argv[4])) ? 0 : 1;
  }
  if ((argc == 5 || (argc == 6 && std::string(argv[5]) == "--batch")) &&
      std::string(argv[1]) == "--profile-callback") {
    sockrpc::bench::CaseSpec spec;
    spec.address = argv[2];
    spec.in_flight = std::max(1, std::atoi(argv[3]));
    spec.seconds = std::atof(argv[4]);
    spec.batch = argc == 6;
    sockrpc::bench::Result result = sockrpc::bench::RpcCallbackCalls(spec);
    std::printf("%lld calls in %.3f s: %.0f calls/s\n",
                static_cast<long long>(result.calls), result.seconds,
                result.rate());
    return result.ok ? 0 : 1;
  }
  if (argc >= 4 && argc <= 6 && std::string(argv[1]) == "--profile-stream") {
    sockrpc::bench::CaseSpec spec;
    spec.address = argv[2];
    spec.size = argc >= 5 ? std::strtoul(argv[4], nullptr, 10) : 64;
    spec.buffer_hint = argc == 6 && std::string(argv[5]) == "--hint";
    return sockrpc::bench::RpcStreamMessages(spec, std::atol(argv[3])) ? 0 : 1;
  }
  if (argc == 5 && std::string(argv[1]) == "--profile-publish") {
    return sockrpc::bench::PublishToOpenStreams(argv[2], std::atoi(argv[3]),
                                                std::atoi(argv[4]))
               ? 0
               : 1;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::atof(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      options.out = argv[++i];
    } else if (arg == "--bin" && i + 1 < argc) {
      options.bin = argv[++i];
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--open-streams") {
      options.open_streams_only = true;
    } else {
      std::fprintf(stderr,
                   "usage: sockrpc_bench [--seconds S] [--out FILE.json] "
                   "[--bin DIR] [--quick] [--open-streams]\n");
      return 2;
    }
  }
  if (options.seconds <= 0) options.seconds = 1.0;
  return sockrpc::bench::Run(options);
}
