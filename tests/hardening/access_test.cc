// Who may call: the allow lists (--allowed_uids, --allowed_gids,
// --same_user_only), the socket file's mode and group, and the peer
// credentials handlers and interceptors see. Through the real server
// binaries; the tests that need a second user run hardening_client as uid
// 65534 (nobody) and are skipped unless the tests run as root.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop.sockrpc.pb.h"
#include "server/interceptor.h"
#include "server/server.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/interop/interop_service.h"
#include "tests/testing/temp_dir.h"

namespace {

using ::sockrpc::testing::ClientRun;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::IncrementOnce;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::RunHardeningClient;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::UniqueAbstractName;
using ::testing::HasSubstr;

// The other user the root-only tests act as, and a group nobody is in.
constexpr int kOtherUid = 65534;
constexpr int kOtherGid = 65534;
constexpr int kSharedGid = 4242;

std::string IdText(unsigned id) { return absl::StrCat(id); }

bool ExitedWith(const ClientRun& run, int code) {
  return WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == code;
}

class AllowListTest : public ::testing::Test {
 protected:
  void Start(const std::string& listen, std::vector<std::string> flags) {
    flags.push_back("--log_calls");
    absl::StatusOr<StartedServer> server =
        StartServerBinary("increment_server", listen, flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  std::string UnixAddress() { return absl::StrCat("unix:", dir_.File("s")); }

  TempDir dir_;
  StartedServer server_;
};

TEST_F(AllowListTest, OtherUidIsRefusedWithPermissionDeniedBeforeAnyHandler) {
  Start(UnixAddress(), {"--allowed_uids", IdText(getuid() + 12345)});
  absl::Status status = IncrementOnce(server_.address);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("peer uid ", getuid(), " gid ", getgid(),
                                     " (pid ", getpid(), ")")));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("may not call this server"));
  // Logged with the reason; no interceptor ran (--log_calls printed
  // nothing about a call).
  EXPECT_TRUE(
      server_.process->WaitForLine("may not call this server", kIoTimeout)
          .ok());
  EXPECT_TRUE(IncrementOnce(server_.address).code() ==
              absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(server_.process->StderrText(),
              ::testing::Not(HasSubstr("call /increment")));
}

TEST_F(AllowListTest, OtherGidIsRefusedWithPermissionDenied) {
  Start(UnixAddress(), {"--allowed_gids", IdText(getgid() + 12345)});
  absl::Status status = IncrementOnce(server_.address);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_TRUE(
      server_.process->WaitForLine("may not call this server", kIoTimeout)
          .ok());
}

TEST_F(AllowListTest, EitherListAdmits) {
  Start(UnixAddress(), {"--allowed_uids", IdText(getuid() + 12345),
                        "--allowed_gids", IdText(getgid())});
  EXPECT_TRUE(IncrementOnce(server_.address).ok());
}

TEST_F(AllowListTest, SameUserOnlyAdmitsTheServersOwnUser) {
  Start(UnixAddress(), {"--same_user_only"});
  absl::Status status = IncrementOnce(server_.address);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(server_.process->WaitForLine("call /increment", kIoTimeout).ok());
}

TEST_F(AllowListTest, SameUserOnlyAdmitsOverAbstractSocketsToo) {
  Start(absl::StrCat("unix-abstract:", UniqueAbstractName()),
        {"--same_user_only"});
  EXPECT_TRUE(IncrementOnce(server_.address).ok());
}

TEST_F(AllowListTest, TcpPeersHaveNoCredentialsAndAreRefusedWhenAListIsSet) {
  Start("ipv4:127.0.0.1:0", {"--same_user_only"});
  absl::Status status = IncrementOnce(server_.address);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("(no credentials)"));
}

TEST_F(AllowListTest, NoListAdmitsEveryone) {
  Start(UnixAddress(), {});
  EXPECT_TRUE(IncrementOnce(server_.address).ok());
}

// ---- A second user (root only) ----

class OtherUserTest : public AllowListTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run a client as uid "
                                     << kOtherUid;
  }
  // Runs hardening_client as `uid`:`gid` with `args`.
  ClientRun RunAs(int uid, int gid, std::vector<std::string> args) {
    args.insert(args.end(), {"--as_uid", IdText(uid), "--as_gid", IdText(gid)});
    absl::StatusOr<ClientRun> run = RunHardeningClient(args);
    if (!run.ok()) {
      ADD_FAILURE() << run.status();
      return ClientRun{};
    }
    return *run;
  }
};

TEST_F(OtherUserTest, SameUserOnlyRefusesAnotherUsersProcess) {
  // An abstract socket: no file permissions, so the other user can connect
  // (docs/SECURITY.md) and only the allow list keeps it out.
  Start(absl::StrCat("unix-abstract:", UniqueAbstractName()),
        {"--same_user_only"});
  ClientRun run = RunAs(kOtherUid, kOtherGid, {"--target", server_.address});
  EXPECT_TRUE(ExitedWith(run, 1)) << DescribeWaitStatus(run.wait_status)
                                  << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text,
              HasSubstr(absl::StrCat("call failed: PERMISSION_DENIED: peer uid ",
                                     kOtherUid, " gid ", kOtherGid, " (pid ")));
  EXPECT_TRUE(server_.process
                  ->WaitForLine(absl::StrCat("peer uid ", kOtherUid),
                                kIoTimeout)
                  .ok());
  EXPECT_THAT(server_.process->StderrText(),
              ::testing::Not(HasSubstr("call /increment")));
}

TEST_F(OtherUserTest, AllowedGidAdmitsAnotherUserWhosePrimaryGroupItIs) {
  Start(absl::StrCat("unix-abstract:", UniqueAbstractName()),
        {"--allowed_gids", IdText(kSharedGid)});
  ClientRun run = RunAs(kOtherUid, kSharedGid, {"--target", server_.address});
  EXPECT_TRUE(ExitedWith(run, 0)) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("char from server = B"));
  ClientRun other = RunAs(kOtherUid, kOtherGid, {"--target", server_.address});
  EXPECT_THAT(other.stdout_text, HasSubstr("PERMISSION_DENIED"));
}

// The socket file's mode and group, against a user the allow lists do not
// mention: only the file system decides.
class SocketFileTest : public OtherUserTest {
 protected:
  void SetUp() override {
    OtherUserTest::SetUp();
    if (IsSkipped()) return;
    // Let others reach the file; the socket's own mode decides the rest.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
  }
  void StartInterop(std::vector<std::string> flags) {
    absl::StatusOr<StartedServer> server =
        StartServerBinary("interop_server", UnixAddress(), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  // A one-reply stream call to the interop server, as uid:gid.
  ClientRun CallAs(int uid, int gid) {
    return RunAs(uid, gid, {"--target", server_.address, "--call", "stream",
                            "--replies", "1", "--pause_ms", "0"});
  }
};

TEST_F(SocketFileTest, Mode0600KeepsOtherUsersFromConnecting) {
  StartInterop({"--socket_mode", "0600"});
  ClientRun run = CallAs(kOtherUid, kOtherGid);
  EXPECT_TRUE(ExitedWith(run, 1)) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(run.stdout_text, HasSubstr("Permission denied"));
}

TEST_F(SocketFileTest, Mode0660WithAGroupLetsThatGroupInAndNoOneElse) {
  StartInterop({"--socket_mode", "0660", "--socket_file_group",
                IdText(kSharedGid)});
  struct stat st;
  ASSERT_EQ(stat(dir_.File("s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, static_cast<gid_t>(kSharedGid));

  ClientRun member = CallAs(kOtherUid, kSharedGid);
  EXPECT_TRUE(ExitedWith(member, 0)) << member.stdout_text << member.stderr_text;
  EXPECT_THAT(member.stdout_text, HasSubstr("stream ended: OK"));

  ClientRun stranger = CallAs(kOtherUid, kOtherGid);
  EXPECT_TRUE(ExitedWith(stranger, 1)) << stranger.stdout_text;
  EXPECT_THAT(stranger.stdout_text, HasSubstr("Permission denied"));
}

TEST_F(SocketFileTest, Mode0666LetsAnyLocalUserConnect) {
  StartInterop({"--socket_mode", "0666"});
  ClientRun run = CallAs(kOtherUid, kOtherGid);
  EXPECT_TRUE(ExitedWith(run, 0)) << run.stdout_text << run.stderr_text;
}

// ---- What handlers and interceptors see (in process) ----

// Records the peer credentials of the calls it sees.
class CredentialRecorder final : public sockrpc::ServerInterceptor {
 public:
  absl::Status OnCallStart(sockrpc::ServerContext& context) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_ = context.peer_credentials();
    called_ = true;
    return absl::OkStatus();
  }
  std::optional<sockrpc::PeerCredentials> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  bool called() {
    std::lock_guard<std::mutex> lock(mu_);
    return called_;
  }

 private:
  std::mutex mu_;  // std::mutex: visible to TSan, unlike Debian's Abseil
  std::optional<sockrpc::PeerCredentials> seen_;
  bool called_ = false;
};

// The interop service, recording what its EmptyCall handler sees.
class RecordingService final : public sockrpc::interop::InteropService {
 public:
  absl::Status EmptyCall(sockrpc::ServerContext* context,
                         const sockrpc::interop::Nothing& request,
                         sockrpc::interop::Nothing* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_ = context->peer_credentials();
    return absl::OkStatus();
  }
  std::optional<sockrpc::PeerCredentials> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;  // std::mutex: visible to TSan, unlike Debian's Abseil
  std::optional<sockrpc::PeerCredentials> seen_;
};

absl::Status EmptyCall(const std::string& address) {
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(address);
  if (!channel.ok()) return channel.status();
  sockrpc::interop::InteropTest::Stub stub(*channel);
  sockrpc::ClientContext context;
  context.set_timeout(kIoTimeout);
  return stub.EmptyCall(&context, sockrpc::interop::Nothing()).status();
}

TEST(PeerCredentialsTest, HandlersAndInterceptorsSeeThePeersPidUidAndGid) {
  TempDir dir;
  RecordingService service;
  CredentialRecorder recorder;
  sockrpc::ServerOptions options;
  options.interceptors = {&recorder};
  sockrpc::Server server(options);
  ASSERT_TRUE(server.RegisterService(&service).ok());
  absl::StatusOr<std::string> address =
      server.Listen(absl::StrCat("unix:", dir.File("s")));
  ASSERT_TRUE(address.ok()) << address.status();
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(EmptyCall(*address).ok());
  for (const std::optional<sockrpc::PeerCredentials>& seen :
       {service.seen(), recorder.seen()}) {
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->pid, getpid());
    EXPECT_EQ(seen->uid, getuid());
    EXPECT_EQ(seen->gid, getgid());
  }
  server.Shutdown();
}

TEST(PeerCredentialsTest, TcpPeersHaveNone) {
  RecordingService service;
  CredentialRecorder recorder;
  sockrpc::ServerOptions options;
  options.interceptors = {&recorder};
  sockrpc::Server server(options);
  ASSERT_TRUE(server.RegisterService(&service).ok());
  absl::StatusOr<std::string> address = server.Listen("ipv4:127.0.0.1:0");
  ASSERT_TRUE(address.ok()) << address.status();
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(EmptyCall(*address).ok());
  EXPECT_TRUE(recorder.called());
  EXPECT_FALSE(recorder.seen().has_value());
  EXPECT_FALSE(service.seen().has_value());
  server.Shutdown();
}

}  // namespace
