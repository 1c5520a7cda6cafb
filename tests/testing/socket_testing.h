// Helpers of the tests of transport/socket.h: the SocketTest fixture (a
// temporary directory per test, unique abstract names, a connected pair of
// sockets) and bounded reads, writes and accepts over real sockets.
// Test-only.
//
// Thread-compatible: each test uses its own fixture and sockets. Failures
// are reported to GoogleTest (EXPECT/ASSERT) in the calling test.
#ifndef SOCKRPC_TESTS_TESTING_SOCKET_TESTING_H_
#define SOCKRPC_TESTS_TESTING_SOCKET_TESTING_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/socket.h"

namespace sockrpc {
namespace testing {

// Deadline is now plus 10 seconds: the bound of a wait that normally ends
// at once.
absl::Time Deadline();

// MustParse parses `text` as an address (transport/address.h); on failure
// it fails the test and returns an empty Address.
Address MustParse(absl::string_view text);

// IsSocketFile says whether `path` is a socket file (not followed if it is
// a symbolic link).
bool IsSocketFile(const std::string& path);

// Leaves a stale socket file at `path`: bound, then closed without unlink,
// as a crashed server would.
void MakeStaleSocket(const std::string& path);

// WriteAll writes all of `data` to the non-blocking socket `fd`, waiting
// for room until Deadline().
void WriteAll(int fd, const std::string& data);

// ReadExactly reads `size` bytes from the non-blocking socket `fd`, waiting
// until Deadline(); fewer if the peer closes first.
std::string ReadExactly(int fd, size_t size);

// Waits for a connection on `listener` and accepts it; an invalid Fd (and
// a test failure) if none comes by Deadline().
Fd AcceptOne(Listener& listener);

// Connects to `listener`, accepts, and checks bytes flow both ways.
void ExpectRoundTrip(Listener& listener);

// A connected pair of sockets, through a real listener.
struct Pair {
  Fd client;
  Fd server;
};

// SocketTest gives each test a fresh temporary directory for its socket
// files, removed with everything in it after the test.
class SocketTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The path of `name` inside the test's directory.
  std::string PathFor(absl::string_view name) const;

  // An abstract socket name (without the leading NUL) unique to the process.
  static std::string UniqueAbstractName();

  // A connected pair over a socket file in the test's directory; the
  // listener is gone when it returns.
  Pair MakePair();

  std::string dir_;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_SOCKET_TESTING_H_
