#include "tests/testing/socket_testing.h"

#include <ftw.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sockrpc {
namespace testing {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);

}  // namespace

absl::Time Deadline() { return absl::Now() + kTimeout; }

Address MustParse(absl::string_view text) {
  absl::StatusOr<Address> address = ParseAddress(text);
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : Address();
}

bool IsSocketFile(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

void MakeStaleSocket(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd.valid());
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(sun.sun_path));
  path.copy(sun.sun_path, path.size());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(fd.get(), 1), 0);
  fd.reset();
  ASSERT_TRUE(IsSocketFile(path));
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  const absl::Time deadline = Deadline();
  while (done < data.size()) {
    iovec iov{const_cast<char*>(data.data() + done), data.size() - done};
    absl::StatusOr<size_t> n = WriteSome(fd, &iov, 1);
    ASSERT_TRUE(n.ok()) << n.status();
    done += *n;
    if (*n == 0) {
      ASSERT_TRUE(WaitFor(fd, POLLOUT, deadline).ok());
    }
  }
}

std::string ReadExactly(int fd, size_t size) {
  std::string data;
  const absl::Time deadline = Deadline();
  while (data.size() < size) {
    char buffer[4096];
    absl::StatusOr<ssize_t> n =
        ReadSome(fd, buffer, std::min(sizeof(buffer), size - data.size()));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    if (*n < 0) {
      absl::Status ready = WaitFor(fd, POLLIN, deadline);
      EXPECT_TRUE(ready.ok()) << ready;
      if (!ready.ok()) break;
      continue;
    }
    data.append(buffer, static_cast<size_t>(*n));
  }
  return data;
}

Fd AcceptOne(Listener& listener) {
  const absl::Time deadline = Deadline();
  for (;;) {
    absl::StatusOr<Fd> fd = listener.Accept();
    EXPECT_TRUE(fd.ok()) << fd.status();
    if (!fd.ok()) return Fd();
    if (fd->valid()) return *std::move(fd);
    absl::Status ready = WaitFor(listener.fd(), POLLIN, deadline);
    EXPECT_TRUE(ready.ok()) << ready;
    if (!ready.ok()) return Fd();
  }
}

void ExpectRoundTrip(Listener& listener) {
  absl::StatusOr<Fd> client = Connect(listener.address(), Deadline());
  ASSERT_TRUE(client.ok()) << client.status();
  Fd server = AcceptOne(listener);
  ASSERT_TRUE(server.valid());

  WriteAll(client->get(), "ping from client");
  EXPECT_EQ(ReadExactly(server.get(), 16), "ping from client");
  WriteAll(server.get(), "pong");
  EXPECT_EQ(ReadExactly(client->get(), 4), "pong");
}

void SocketTest::SetUp() {
  char pattern[] = "/tmp/sockrpc-socket-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
  dir_ = pattern;
}

void SocketTest::TearDown() {
  if (dir_.empty()) return;
  ::nftw(
      dir_.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) {
        return ::remove(path);
      },
      8, FTW_DEPTH | FTW_PHYS);
}

std::string SocketTest::PathFor(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name);
}

std::string SocketTest::UniqueAbstractName() {
  static std::atomic<int> counter{0};
  return absl::StrCat("sockrpc-test-", ::getpid(), "-", counter++);
}

Pair SocketTest::MakePair() {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("pair.sock")));
  EXPECT_TRUE(listener.ok()) << listener.status();
  if (!listener.ok()) return {};
  absl::StatusOr<Fd> client = Connect(listener->address(), Deadline());
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return {};
  Pair pair;
  pair.server = AcceptOne(*listener);
  pair.client = *std::move(client);
  return pair;
}

}  // namespace testing
}  // namespace sockrpc
