// Tests of transport/socket.h over real sockets: filesystem sockets in a
// per-test temporary directory, abstract names unique to the process, and
// TCP on loopback with ephemeral ports. Every wait has a deadline.
#include "transport/socket.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/address.h"
#include "transport/fd.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(10);

absl::Time Deadline() { return absl::Now() + kTimeout; }

Address MustParse(absl::string_view text) {
  absl::StatusOr<Address> address = ParseAddress(text);
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : Address();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsSocketFile(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

void WriteFile(const std::string& path, const std::string& contents) {
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr) << path;
  std::fputs(contents.c_str(), file);
  std::fclose(file);
}

std::string ReadFile(const std::string& path) {
  std::string contents;
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return "<missing>";
  char buffer[256];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  std::fclose(file);
  return contents;
}

// Leaves a stale socket file at `path`: bound, then closed without unlink,
// as a crashed server would.
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

// Waits for a connection on `listener` and accepts it.
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

// Connects to `listener`, accepts, and checks bytes flow both ways.
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

// A connected pair of sockets, through a real listener.
struct Pair {
  Fd client;
  Fd server;
};

class SocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sockrpc-socket-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    ::nftw(
        dir_.c_str(),
        [](const char* path, const struct stat*, int, struct FTW*) {
          return ::remove(path);
        },
        8, FTW_DEPTH | FTW_PHYS);
  }

  std::string PathFor(absl::string_view name) const {
    return absl::StrCat(dir_, "/", name);
  }

  static std::string UniqueAbstractName() {
    static std::atomic<int> counter{0};
    return absl::StrCat("sockrpc-test-", ::getpid(), "-", counter++);
  }

  Pair MakePair() {
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

  std::string dir_;
};

TEST_F(SocketTest, RoundTripOverUnixPath) {
  const std::string path = PathFor("s.sock");
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(listener->address().ToString(), "unix:" + path);
  EXPECT_TRUE(IsSocketFile(path));
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, RoundTripOverAbstractName) {
  const std::string text = "unix-abstract:" + UniqueAbstractName();
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse(text));
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(listener->address().ToString(), text);
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, SecondListenerOnAbstractNameIsAlreadyExists) {
  const Address address = MustParse("unix-abstract:" + UniqueAbstractName());
  absl::StatusOr<Listener> first = Listener::Bind(address);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Listener> second = Listener::Bind(address);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(SocketTest, RoundTripOverTcpLoopbackReportsRealPort) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("ipv4:127.0.0.1:0"));
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(listener->address().kind, Address::Kind::kIpv4);
  EXPECT_EQ(listener->address().host, "127.0.0.1");
  EXPECT_NE(listener->address().port, 0);
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, RoundTripOverIpv6Loopback) {
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("ipv6:[::1]:0"));
  if (!listener.ok()) {
    GTEST_SKIP() << "no IPv6 loopback here: " << listener.status();
  }
  EXPECT_EQ(listener->address().kind, Address::Kind::kIpv6);
  EXPECT_EQ(listener->address().host, "::1");
  EXPECT_NE(listener->address().port, 0);
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, LocalhostPortZeroBindsALoopbackLiteral) {
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("localhost:0"));
  ASSERT_TRUE(listener.ok()) << listener.status();
  const Address& bound = listener->address();
  EXPECT_TRUE(bound.host == "127.0.0.1" || bound.host == "::1") << bound.host;
  EXPECT_NE(bound.port, 0);
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, LiveSocketIsAlreadyExists) {
  const std::string path = PathFor("live.sock");
  absl::StatusOr<Listener> first = Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<Listener> second = Listener::Bind(MustParse("unix:" + path));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(),
            "address already in use by a running server: unix:" + path);
  // The running server keeps its file. The probe that found it alive shows
  // up as a connection that ends at once, with no bytes.
  EXPECT_TRUE(IsSocketFile(path));
  Fd probe = AcceptOne(*first);
  ASSERT_TRUE(probe.valid());
  EXPECT_EQ(ReadExactly(probe.get(), 1), "");
  ExpectRoundTrip(*first);
}

TEST_F(SocketTest, StaleSocketIsReplaced) {
  const std::string path = PathFor("stale.sock");
  MakeStaleSocket(path);
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(listener.ok()) << listener.status();
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, RegularFileAtPathIsNeverDeleted) {
  const std::string path = PathFor("precious.txt");
  WriteFile(path, "do not delete");
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(listener.status().message(), HasSubstr("not a socket"));
  EXPECT_THAT(listener.status().message(), HasSubstr(path));
  EXPECT_EQ(ReadFile(path), "do not delete");
}

TEST_F(SocketTest, DirectoryAtPathIsNeverDeleted) {
  const std::string path = PathFor("subdir");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition);
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(SocketTest, SymlinkToStaleSocketIsNeverFollowedOrDeleted) {
  const std::string target = PathFor("target.sock");
  const std::string link = PathFor("link.sock");
  MakeStaleSocket(target);
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + link));
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition);
  struct stat st;
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(IsSocketFile(target));
}

TEST_F(SocketTest, MissingDirectoryIsAnErrorNamingTheAddress) {
  const std::string path = PathFor("no/such/dir.sock");
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_FALSE(listener.ok());
  EXPECT_THAT(listener.status().message(), HasSubstr(path));
}

TEST_F(SocketTest, SocketFileIsRemovedWhenListenerIsDestroyed) {
  const std::string path = PathFor("d.sock");
  {
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse("unix:" + path));
    ASSERT_TRUE(listener.ok()) << listener.status();
    EXPECT_TRUE(IsSocketFile(path));
  }
  EXPECT_FALSE(PathExists(path));
}

TEST_F(SocketTest, CloseRemovesSocketFileAndIsIdempotent) {
  const std::string path = PathFor("c.sock");
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(listener.ok()) << listener.status();
  listener->Close();
  EXPECT_FALSE(PathExists(path));
  EXPECT_EQ(listener->fd(), -1);
  listener->Close();
  EXPECT_EQ(listener->Accept().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SocketTest, FileThatReplacedOurSocketIsNotRemoved) {
  const std::string path = PathFor("r.sock");
  {
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse("unix:" + path));
    ASSERT_TRUE(listener.ok()) << listener.status();
    ASSERT_EQ(::unlink(path.c_str()), 0);
    WriteFile(path, "someone else's");
  }
  EXPECT_EQ(ReadFile(path), "someone else's");
}

TEST_F(SocketTest, SocketOfANewerServerIsNotRemoved) {
  const std::string path = PathFor("n.sock");
  absl::StatusOr<Listener> old_server =
      Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(old_server.ok()) << old_server.status();
  ASSERT_EQ(::unlink(path.c_str()), 0);  // an operator removed it
  absl::StatusOr<Listener> new_server =
      Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(new_server.ok()) << new_server.status();
  old_server->Close();
  EXPECT_TRUE(IsSocketFile(path));
  ExpectRoundTrip(*new_server);
}

TEST_F(SocketTest, MovedListenerRemovesTheFileOnlyOnce) {
  const std::string path = PathFor("m.sock");
  absl::StatusOr<Listener> listener = Listener::Bind(MustParse("unix:" + path));
  ASSERT_TRUE(listener.ok()) << listener.status();
  {
    Listener moved = *std::move(listener);
    listener->Close();  // the moved-from listener owns nothing
    EXPECT_TRUE(IsSocketFile(path));
    ExpectRoundTrip(moved);
  }
  EXPECT_FALSE(PathExists(path));
}

TEST_F(SocketTest, SocketFileModeIsApplied) {
  for (mode_t mode : {mode_t{0600}, mode_t{0660}, mode_t{0666}}) {
    const std::string path = PathFor(absl::StrCat("mode", mode, ".sock"));
    ListenOptions options;
    options.socket_file_mode = mode;
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse("unix:" + path), options);
    ASSERT_TRUE(listener.ok()) << listener.status();
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, mode) << std::oct << mode;
  }
}

TEST_F(SocketTest, ConnectToMissingPathIsUnavailableNamingTheAddress) {
  const std::string path = PathFor("missing.sock");
  absl::StatusOr<Fd> fd = Connect(MustParse("unix:" + path), Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fd.status().message(), "failed to connect to unix:" + path +
                                       ": No such file or directory");
}

TEST_F(SocketTest, ConnectToStaleSocketIsUnavailable) {
  const std::string path = PathFor("stale.sock");
  MakeStaleSocket(path);
  absl::StatusOr<Fd> fd = Connect(MustParse("unix:" + path), Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fd.status().message(), HasSubstr("Connection refused"));
}

TEST_F(SocketTest, ConnectToClosedTcpPortIsUnavailable) {
  Address address;
  {
    absl::StatusOr<Listener> listener =
        Listener::Bind(MustParse("ipv4:127.0.0.1:0"));
    ASSERT_TRUE(listener.ok()) << listener.status();
    address = listener->address();
  }
  absl::StatusOr<Fd> fd = Connect(address, Deadline());
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fd.status().message(),
              HasSubstr("failed to connect to " + address.ToString()));
}

TEST_F(SocketTest, ConnectWhileAcceptQueueIsFullTimesOut) {
  ListenOptions options;
  options.backlog = 0;  // the kernel still queues a connection or so
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("full.sock")), options);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::vector<Fd> queued;
  absl::Status last;
  for (int i = 0; i < 16 && last.ok(); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Fd> fd =
        Connect(listener->address(), start + absl::Milliseconds(100));
    if (fd.ok()) {
      queued.push_back(*std::move(fd));
    } else {
      last = fd.status();
      EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kDeadlineExceeded) << last;
  EXPECT_THAT(last.message(), HasSubstr(listener->address().ToString()));
}

TEST_F(SocketTest, AcceptWithNothingQueuedReturnsInvalidFd) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("a.sock")));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> fd = listener->Accept();
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_FALSE(fd->valid());
}

TEST_F(SocketTest, AcceptedAndConnectedSocketsAreNonBlockingAndCloseOnExec) {
  Pair pair = MakePair();
  for (int fd : {pair.client.get(), pair.server.get()}) {
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  }
}

TEST_F(SocketTest, AcceptOutOfDescriptorsShedsTheWaitingConnection) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("unix:" + PathFor("emfile.sock")));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> client = Connect(listener->address(), Deadline());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor(listener->fd(), POLLIN, Deadline()).ok());

  // Use up every descriptor under a lowered limit.
  rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit lowered = saved;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<Fd> filler;
  for (int i = 0; i < 256; ++i) {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) break;
    filler.push_back(std::move(fd));
  }
  absl::StatusOr<Fd> accepted = listener->Accept();
  filler.clear();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_EQ(accepted.status().code(), absl::StatusCode::kResourceExhausted);
  // The connection was taken off the queue and closed: the listener is
  // no longer readable and the client sees the end of the stream.
  absl::StatusOr<Fd> next = listener->Accept();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->valid());
  ASSERT_TRUE(WaitFor(client->get(), POLLIN, Deadline()).ok());
  char byte;
  absl::StatusOr<ssize_t> n = ReadSome(client->get(), &byte, 1);
  EXPECT_TRUE(!n.ok() || *n == 0);
  // And the listener still works.
  ExpectRoundTrip(*listener);
}

TEST_F(SocketTest, ReadSomeReturnsMinusOneWhenNothingIsWaiting) {
  Pair pair = MakePair();
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(pair.server.get(), buffer, 16);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, -1);
}

TEST_F(SocketTest, ReadSomeReturnsZeroWhenPeerCloses) {
  Pair pair = MakePair();
  WriteAll(pair.client.get(), "last words");
  pair.client.reset();
  EXPECT_EQ(ReadExactly(pair.server.get(), 10), "last words");
  ASSERT_TRUE(WaitFor(pair.server.get(), POLLIN, Deadline()).ok());
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(pair.server.get(), buffer, 16);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0);
}

TEST_F(SocketTest, ReadSomeOnResetConnectionIsUnavailable) {
  absl::StatusOr<Listener> listener =
      Listener::Bind(MustParse("ipv4:127.0.0.1:0"));
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Fd> client = Connect(listener->address(), Deadline());
  ASSERT_TRUE(client.ok()) << client.status();
  Fd server = AcceptOne(*listener);
  // SO_LINGER with a zero timeout makes close() send a reset.
  linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(client->get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof(abort_on_close)),
            0);
  client->reset();
  ASSERT_TRUE(WaitFor(server.get(), POLLIN, Deadline()).ok());
  char buffer[16];
  absl::StatusOr<ssize_t> n = ReadSome(server.get(), buffer, 16);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(n.status().message(), HasSubstr("reset"));
}

TEST_F(SocketTest, WriteSomeToClosedPeerIsUnavailableNotSigpipe) {
  Pair pair = MakePair();
  pair.server.reset();
  // A unix socket reports EPIPE on the first write after the peer closed;
  // without MSG_NOSIGNAL that write would kill this process.
  absl::StatusOr<size_t> n;
  const char data[] = "hello";
  iovec iov{const_cast<char*>(data), sizeof(data)};
  for (int i = 0; i < 8; ++i) {
    n = WriteSome(pair.client.get(), &iov, 1);
    if (!n.ok()) break;
  }
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(n.status().message(), HasSubstr("Broken pipe"));
}

TEST_F(SocketTest, WriteSomeGathersAllPieces) {
  Pair pair = MakePair();
  std::string a = "head:", b = "body:", c = "tail";
  iovec iov[3] = {
      {a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  absl::StatusOr<size_t> n = WriteSome(pair.client.get(), iov, 3);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 14u);
  EXPECT_EQ(ReadExactly(pair.server.get(), 14), "head:body:tail");
}

TEST_F(SocketTest, WriteSomeReturnsZeroWhenTheSocketBufferIsFull) {
  Pair pair = MakePair();
  std::string chunk(64 * 1024, 'x');
  iovec iov{chunk.data(), chunk.size()};
  size_t total = 0;
  bool full = false;
  for (int i = 0; i < 4096 && !full; ++i) {  // at most 256 MiB
    absl::StatusOr<size_t> n = WriteSome(pair.client.get(), &iov, 1);
    ASSERT_TRUE(n.ok()) << n.status();
    full = *n == 0;
    total += *n;
  }
  EXPECT_TRUE(full);
  EXPECT_GT(total, 0u);
  // Not writable now: waiting for POLLOUT times out.
  EXPECT_EQ(
      WaitFor(pair.client.get(), POLLOUT, absl::Now() + absl::Milliseconds(20))
          .code(),
      absl::StatusCode::kDeadlineExceeded);
}

TEST_F(SocketTest, WaitForTimesOutWithDeadlineExceeded) {
  Pair pair = MakePair();
  const absl::Time start = absl::Now();
  absl::Status status =
      WaitFor(pair.server.get(), POLLIN, start + absl::Milliseconds(50));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(SocketTest, WaitForWithPastDeadlineReturnsAtOnce) {
  Pair pair = MakePair();
  EXPECT_EQ(WaitFor(pair.server.get(), POLLIN, absl::InfinitePast()).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(SocketTest, WaitForReturnsWhenDataIsWaiting) {
  Pair pair = MakePair();
  WriteAll(pair.client.get(), "x");
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLIN, absl::InfiniteFuture()).ok());
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLOUT, Deadline()).ok());
}

TEST_F(SocketTest, WaitForReportsPeerCloseAsReady) {
  Pair pair = MakePair();
  pair.client.reset();
  EXPECT_TRUE(WaitFor(pair.server.get(), POLLIN, absl::InfiniteFuture()).ok());
}

}  // namespace
}  // namespace sockrpc
