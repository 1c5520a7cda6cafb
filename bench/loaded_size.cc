#include "loaded_size.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

namespace sockrpc {
namespace bench {

void PrintLoadedSize() {
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
  long long binary_bytes =
      stat("/proc/self/exe", &self) == 0 ? self.st_size : 0;
  std::printf("binary_bytes %lld so_bytes %lld so_count %zu\n", binary_bytes,
              so_bytes, libraries.size());
}

}  // namespace bench
}  // namespace sockrpc
