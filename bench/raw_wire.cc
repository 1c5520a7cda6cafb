#include "raw_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sockrpc {
namespace bench {

void PutLength(uint32_t length, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(length >> (8 * i));
}

uint32_t GetLength(const char* in) {
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length |= static_cast<uint32_t>(static_cast<unsigned char>(in[i]))
              << (8 * i);
  }
  return length;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

long ReadAtLeast(int fd, char* buf, size_t have, size_t want,
                 size_t capacity) {
  while (have < want) {
    ssize_t n = ::read(fd, buf + have, capacity - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) return -1;
    have += static_cast<size_t>(n);
  }
  return static_cast<long>(have);
}

int ConnectRaw(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) {
    std::string path = address.substr(5);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
      std::fprintf(stderr, "raw: socket path too long: %s\n", path.c_str());
      return -1;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::fprintf(stderr, "raw: connect %s: %s\n", address.c_str(),
                   std::strerror(errno));
      ::close(fd);
      return -1;
    }
    return fd;
  }
  if (address.rfind("ipv4:", 0) == 0) {
    std::string rest = address.substr(5);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(
        std::atoi(rest.c_str() + colon + 1)));
    if (::inet_pton(AF_INET, rest.substr(0, colon).c_str(), &addr.sin_addr) !=
        1) {
      return -1;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::fprintf(stderr, "raw: connect %s: %s\n", address.c_str(),
                   std::strerror(errno));
      ::close(fd);
      return -1;
    }
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return fd;
  }
  std::fprintf(stderr, "raw: unsupported address %s\n", address.c_str());
  return -1;
}

}  // namespace bench
}  // namespace sockrpc
