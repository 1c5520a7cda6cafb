// Descriptors in tests of descriptor passing: counting this process's open
// descriptors (to find leaks) and memfds that hold a known text.
#ifndef SOCKRPC_TESTS_TESTING_FD_TESTING_H_
#define SOCKRPC_TESTS_TESTING_FD_TESTING_H_

#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "transport/fd.h"

namespace sockrpc {
namespace testing {

// What an open descriptor refers to ("socket:[123]", "/memfd:x (deleted)"),
// empty if it closed meanwhile.
inline std::string FdTarget(const char* name) {
  char target[256] = {};
  const std::string link = std::string("/proc/self/fd/") + name;
  const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

// How many descriptors this process has open (-1 if /proc is missing),
// leaving out pipes: the sanitizer runtimes open a pipe for a moment while a
// thread starts (to probe memory), so a count taken as the server's threads
// start could include one that is gone by the next count. Nothing under test
// makes pipes.
inline int OpenFdCount() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    if (absl::StartsWith(FdTarget(entry->d_name), "pipe:")) continue;
    ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own descriptor
}

// Every open descriptor and what it refers to, for failure messages.
inline std::string DescribeOpenFds() {
  std::string out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string target = FdTarget(entry->d_name);
    out += std::string(entry->d_name) + "->" +
           (target.empty() ? std::string("?") : target) + " ";
  }
  ::closedir(dir);
  return out;
}

// A new memfd holding `text` (invalid if the kernel refused one).
inline Fd MemfdHolding(const std::string& text) {
  Fd fd(::memfd_create("sockrpc_test", MFD_CLOEXEC));
  if (fd.valid() && ::write(fd.get(), text.data(), text.size()) !=
                        static_cast<ssize_t>(text.size())) {
    fd.reset();
  }
  return fd;
}

// The first 64 bytes of the file `fd` refers to.
inline std::string Contents(int fd) {
  std::string text(64, '\0');
  const ssize_t n = ::pread(fd, &text[0], text.size(), 0);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return text;
}

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_FD_TESTING_H_
