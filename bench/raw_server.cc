// raw_server: the raw baselines' server (see raw_wire.h). Blocking
// sockets, one thread per connection, echoes every message back with one
// write per read. Runs until killed.
//
//   raw_server --unix PATH [--tcp]
//
// Prints "ready unix:PATH [ipv4:127.0.0.1:PORT]" once it listens.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "raw_wire.h"

namespace sockrpc {
namespace bench {
namespace {

// Echoes the kCopyFlag message at the start of buf (whole), after copying
// its payload as an RPC server would; false on a write error.
bool EchoWithCopies(int fd, const char* message, uint32_t size,
                    std::vector<char>* parsed, std::vector<char>* handled,
                    std::vector<char>* out) {
  parsed->resize(size);
  handled->resize(size);
  out->resize(kRawHeaderSize + size);
  std::memcpy(parsed->data(), message + kRawHeaderSize, size);
  std::memcpy(handled->data(), parsed->data(), size);
  std::memcpy(out->data(), message, kRawHeaderSize);
  std::memcpy(out->data() + kRawHeaderSize, handled->data(), size);
  return WriteAll(fd, out->data(), out->size());
}

// Serve echoes messages on `fd` until the peer closes, then closes it.
void Serve(int fd) {
  std::vector<char> buf(64 << 10);
  std::vector<char> parsed, handled, out;  // for kCopyFlag messages
  size_t have = 0;
  for (;;) {
    // Read at least one whole message (growing the buffer for a large
    // one), then echo every whole message read, in one write.
    long filled = ReadAtLeast(fd, buf.data(), have, kRawHeaderSize, buf.size());
    if (filled < 0) break;
    have = static_cast<size_t>(filled);
    uint32_t length = GetLength(buf.data());
    if (length & kStreamFlag) {
      filled = ReadAtLeast(fd, buf.data(), have, kRawHeaderSize + 8, buf.size());
      if (filled < 0) break;
      uint32_t count = GetLength(buf.data() + 4);
      uint32_t size = GetLength(buf.data() + 8);
      // Messages go out in batches of about 64 KiB, as any buffered
      // writer would send them.
      const size_t message_size = kRawHeaderSize + size;
      const uint32_t per_batch = static_cast<uint32_t>(
          std::max<size_t>(1, (64 << 10) / message_size));
      std::vector<char> batch(message_size * per_batch, 'x');
      for (uint32_t i = 0; i < per_batch; ++i) {
        PutLength(size, batch.data() + i * message_size);
      }
      for (uint32_t sent = 0; sent < count;) {
        uint32_t n = std::min(per_batch, count - sent);
        if (!WriteAll(fd, batch.data(), n * message_size)) break;
        sent += n;
      }
      have = static_cast<size_t>(filled) - (kRawHeaderSize + 8);
      std::memmove(buf.data(), buf.data() + kRawHeaderSize + 8, have);
      continue;
    }
    if (length & kCopyFlag) {
      const size_t need = kRawHeaderSize + (length & ~kCopyFlag);
      if (need > buf.size()) buf.resize(need);
      filled = ReadAtLeast(fd, buf.data(), have, need, buf.size());
      if (filled < 0 || !EchoWithCopies(fd, buf.data(), length & ~kCopyFlag,
                                        &parsed, &handled, &out)) {
        break;
      }
      have = static_cast<size_t>(filled) - need;
      std::memmove(buf.data(), buf.data() + need, have);
      continue;
    }
    size_t need = kRawHeaderSize + length;
    if (need > buf.size()) buf.resize(need);
    filled = ReadAtLeast(fd, buf.data(), have, need, buf.size());
    if (filled < 0) break;
    have = static_cast<size_t>(filled);
    // The whole messages at the front of the buffer.
    size_t whole = 0;
    while (have - whole >= kRawHeaderSize) {
      uint32_t next = GetLength(buf.data() + whole);
      if (next & (kStreamFlag | kCopyFlag)) break;
      if (have - whole < kRawHeaderSize + next) break;
      whole += kRawHeaderSize + next;
    }
    if (!WriteAll(fd, buf.data(), whole)) break;
    have -= whole;
    std::memmove(buf.data(), buf.data() + whole, have);
  }
  ::close(fd);
}

void AcceptLoop(int listener) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::perror("raw_server: accept");
      return;
    }
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // no-op
                                                                   // on unix
    std::thread(Serve, fd).detach();
  }
}

int ListenUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 1024) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int ListenTcp(int* port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 1024) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace
}  // namespace bench
}  // namespace sockrpc

int main(int argc, char** argv) {
  using namespace sockrpc::bench;
  std::string unix_path;
  bool tcp = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--unix") == 0 && i + 1 < argc) {
      unix_path = argv[++i];
    } else if (std::strcmp(argv[i], "--tcp") == 0) {
      tcp = true;
    } else {
      std::fprintf(stderr, "usage: raw_server --unix PATH [--tcp]\n");
      return 2;
    }
  }
  if (unix_path.empty()) {
    std::fprintf(stderr, "usage: raw_server --unix PATH [--tcp]\n");
    return 2;
  }
  int unix_fd = ListenUnix(unix_path);
  if (unix_fd < 0) {
    std::perror("raw_server: listen unix");
    return 1;
  }
  std::string ready = "ready unix:" + unix_path;
  std::vector<std::thread> loops;
  loops.emplace_back(AcceptLoop, unix_fd);
  if (tcp) {
    int port = 0;
    int tcp_fd = ListenTcp(&port);
    if (tcp_fd < 0) {
      std::perror("raw_server: listen tcp");
      return 1;
    }
    ready += " ipv4:127.0.0.1:" + std::to_string(port);
    loops.emplace_back(AcceptLoop, tcp_fd);
  }
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);
  for (std::thread& loop : loops) loop.join();
  return 0;
}
