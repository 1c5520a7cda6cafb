// LimitsTest: the fixture of the server-limit tests (count_limits_test.cc,
// time_and_size_limits_test.cc). It starts a real server binary on a
// socket in a temporary directory and opens raw connections or channels
// to it.
#ifndef SOCKRPC_TESTS_HARDENING_LIMITS_TESTING_H_
#define SOCKRPC_TESTS_HARDENING_LIMITS_TESTING_H_

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const std::string& binary, const std::vector<std::string>& flags) {
    StartOn(absl::StrCat("unix:", dir_.File("s")), binary, flags);
  }
  // Start() listening on `address` (for example "127.0.0.1:0").
  void StartOn(const std::string& address, const std::string& binary,
               const std::vector<std::string>& flags) {
    absl::StatusOr<StartedServer> server =
        StartServerBinary(binary, address, flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A raw connection that has sent its preface and read the server's.
  RawConnection OpenWithPreface() {
    RawConnection raw = OpenRaw();
    if (!raw.Send(Preface(), kIoTimeout).ok() ||
        !raw.ReadPreface(kIoTimeout).ok()) {
      throw std::runtime_error("no preface exchange");
    }
    return raw;
  }
  RawConnection OpenRaw() {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(server_.address, kIoTimeout);
    if (!raw.ok()) throw std::runtime_error(raw.status().ToString());
    return *std::move(raw);
  }

  void ExpectLogged(absl::string_view text) {
    absl::StatusOr<std::string> line =
        server_.process->WaitForLine(text, kIoTimeout);
    EXPECT_TRUE(line.ok()) << line.status();
  }

  // An interop EmptyCall on a fresh channel.
  absl::Status EmptyCallOnce() {
    absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
        sockrpc::CreateChannel(server_.address);
    if (!channel.ok()) return channel.status();
    sockrpc::interop::InteropTest::Stub stub(*channel);
    sockrpc::ClientContext context;
    context.set_timeout(kIoTimeout);
    return stub.EmptyCall(&context, sockrpc::interop::Nothing()).status();
  }

  TempDir dir_;
  StartedServer server_;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_HARDENING_LIMITS_TESTING_H_
