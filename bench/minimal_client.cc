// minimal_client: the smallest useful sockrpc client, one Echo call, used
// to measure what a client costs on disk and in loaded shared libraries.
//
//   minimal_client ADDR
//
// After the call it prints, on one line:
//   binary_bytes N so_bytes M so_count K
// where M is the summed file size of the K distinct shared libraries
// mapped into the process (from /proc/self/maps), the dynamic loader
// included.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "bench.sockrpc.pb.h"
#include "client/channel.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: minimal_client ADDR\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(argv[1]);
  if (!channel.ok()) return 1;
  sockrpc::bench::Bench::Stub stub(*channel);
  sockrpc::bench::Payload request;
  request.set_body("x");
  if (!stub.Echo(request).ok()) return 1;

  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libraries;
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find(".so") != std::string::npos) libraries.insert(path);
  }
  long long so_bytes = 0;
  for (const std::string& path : libraries) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) so_bytes += st.st_size;
  }
  struct stat self;
  long long binary_bytes = stat("/proc/self/exe", &self) == 0 ? self.st_size : 0;
  std::printf("binary_bytes %lld so_bytes %lld so_count %zu\n", binary_bytes,
              so_bytes, libraries.size());
  return 0;
}
