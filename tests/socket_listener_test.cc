// Tests of transport/socket.h's Listener: binding every kind of address
// (filesystem sockets in a per-test temporary directory, abstract names
// unique to the process, TCP and IPv6 on loopback with ephemeral ports),
// what Bind does with whatever already is at a socket file's path (a live
// server, a stale socket, a regular file, a directory, a symbolic link),
// and removing its socket file, and only its own, when it goes. Every wait
// has a deadline. Connecting, accepting and reading and writing are tested
// in socket_io_test.cc.
#include "transport/socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/socket_testing.h"
#include "transport/address.h"
#include "transport/fd.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::AcceptOne;
using ::sockrpc::testing::ExpectRoundTrip;
using ::sockrpc::testing::IsSocketFile;
using ::sockrpc::testing::MakeStaleSocket;
using ::sockrpc::testing::MustParse;
using ::sockrpc::testing::ReadExactly;
using ::sockrpc::testing::SocketTest;
using ::testing::HasSubstr;

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
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

}  // namespace
}  // namespace sockrpc
