// Runs every interop case against a real interop_server child process, each
// case as its own test through a real interop_client process, then all of
// them in one interop_client run. The InteropUnix suites serve on a socket
// file in a temp dir, the InteropTcp suites on 127.0.0.1 with an ephemeral
// port; both serve through the callback API (interop_server's default), and
// the *Blocking suites do the same with interop_server --blocking. ctest
// runs them as interop_unix, interop_tcp, interop_unix_blocking and
// interop_tcp_blocking.
#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/interop/interop_cases.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"
#include "transport/status_macros.h"

namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::DescribeWaitStatus;
using ::sockrpc::testing::IssuedCertificate;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::RunProgram;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerProcess;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::TestPki;
using ::sockrpc::testing::Transport;
using ::sockrpc::testing::UniqueListenAddress;

// The server's frame limit; interop_client's oversized_message case sends
// 2 MiB, over it.
constexpr char kServerFrameLimitFlag[] = "--max_frame_size=1048576";

// Bounds one interop_client run: its calls are bounded by 10 s each, so
// this is reached only when a client hangs outside a call.
constexpr absl::Duration kClientTimeout = absl::Seconds(45);

// A running interop_server, with where it listens.
struct RunningServer {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ChildProcess> process;
  std::string address;
  // What interop_client needs to reach it (--cacert, with TLS).
  std::vector<std::string> client_flags;
};

// Whether the TCP server speaks TLS (a certificate made for the suite).
enum class Security { kPlain, kTls };

// How interop_server serves the service.
enum class ServerApi {
  kCallback,  // reactors and timers (the default)
  kBlocking,  // a thread per call (--blocking)
};

absl::StatusOr<RunningServer> StartInteropServer(Transport transport,
                                                 ServerApi api,
                                                 Security security) {
  RunningServer server;
  server.dir = std::make_unique<TempDir>();
  std::vector<std::string> flags = {
      absl::StrCat("--listen=", UniqueListenAddress(transport, *server.dir)),
      kServerFrameLimitFlag};
  if (api == ServerApi::kBlocking) flags.push_back("--blocking");
  if (security == Security::kTls) {
    SOCKRPC_ASSIGN_OR_RETURN(std::unique_ptr<TestPki> pki,
                             TestPki::Create(server.dir->path(), "interop"));
    SOCKRPC_ASSIGN_OR_RETURN(
        IssuedCertificate certificate,
        pki->Issue(sockrpc::testing::LocalServerSpec(), "server"));
    flags.push_back("--tls_cert=" + certificate.certificate_file);
    flags.push_back("--tls_key=" + certificate.private_key_file);
    server.client_flags.push_back("--cacert=" + pki->ca_file());
  }
  absl::StatusOr<StartedServer> started =
      StartServerProcess("interop_server", flags);
  if (!started.ok()) return started.status();
  server.process = std::move(started->process);
  server.address = std::move(started->address);
  return server;
}

// Runs interop_client --case=`case_name` against `server` to completion.
absl::StatusOr<ProgramRun> RunInteropClient(const RunningServer& server,
                                            const std::string& case_name) {
  std::vector<std::string> flags = server.client_flags;
  flags.push_back(absl::StrCat("--target=", server.address));
  flags.push_back(absl::StrCat("--case=", case_name));
  return RunProgram(BinaryPath("interop_client"), flags, kClientTimeout);
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& c : sockrpc::interop::InteropCases()) {
    names.push_back(c.name);
  }
  return names;
}

// One interop_server per test suite, started before its first test and
// stopped (SIGTERM, which must end it cleanly) after its last.
template <Transport kTransport, ServerApi kApi, Security kSecurity>
class InteropServerSuite {
 public:
  static void Start() {
    absl::StatusOr<RunningServer> started =
        StartInteropServer(kTransport, kApi, kSecurity);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = new RunningServer(*std::move(started));
  }
  static void Stop() {
    if (server_ == nullptr) return;
    EXPECT_TRUE(server_->process->Signal(SIGTERM).ok());
    absl::StatusOr<int> status = server_->process->WaitForExit(kProcessTimeout);
    EXPECT_TRUE(status.ok()) << status.status();
    if (status.ok()) {
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << "interop_server " << DescribeWaitStatus(*status) << "; stderr:\n"
          << server_->process->StderrText();
    }
    delete server_;
    server_ = nullptr;
  }
  static const RunningServer* server() { return server_; }

 private:
  static inline RunningServer* server_ = nullptr;
};

// Runs `case_name` (or "all") and expects interop_client to exit 0.
void ExpectCasePasses(const RunningServer* server,
                      const std::string& case_name) {
  ASSERT_NE(server, nullptr) << "the server did not start";
  absl::StatusOr<ProgramRun> run = RunInteropClient(*server, case_name);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(WIFEXITED(run->wait_status) && WEXITSTATUS(run->wait_status) == 0)
      << "interop_client --case=" << case_name << " "
      << DescribeWaitStatus(run->wait_status) << "\nstdout:\n"
      << run->stdout_text << "stderr:\n"
      << run->stderr_text << "server stderr so far:\n"
      << server->process->StderrText();
  if (case_name == "all") {
    // One PASS line per case, and nothing failed.
    for (const std::string& name : CaseNames()) {
      EXPECT_THAT(run->stdout_text,
                  ::testing::HasSubstr(absl::StrCat("PASS ", name, " (")));
    }
    EXPECT_THAT(run->stdout_text, ::testing::Not(::testing::HasSubstr("FAIL")));
  } else {
    EXPECT_THAT(run->stdout_text,
                ::testing::HasSubstr(absl::StrCat("PASS ", case_name)));
  }
}

std::string CaseTestName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// The per-case suites, one per transport and API (and TLS or not).
template <Transport kTransport, ServerApi kApi,
          Security kSecurity = Security::kPlain>
class InteropCaseSuite : public ::testing::TestWithParam<std::string> {
 protected:
  using Server = InteropServerSuite<kTransport, kApi, kSecurity>;
  static void SetUpTestSuite() { Server::Start(); }
  static void TearDownTestSuite() { Server::Stop(); }
  const RunningServer* server() const { return Server::server(); }
};

// The all-cases-in-one-run suites, one per transport and API (and TLS).
template <Transport kTransport, ServerApi kApi,
          Security kSecurity = Security::kPlain>
class InteropAllSuite : public ::testing::Test {
 protected:
  using Server = InteropServerSuite<kTransport, kApi, kSecurity>;
  static void SetUpTestSuite() { Server::Start(); }
  static void TearDownTestSuite() { Server::Stop(); }
  const RunningServer* server() const { return Server::server(); }
};

// ctest's filters select a suite and its All suite by exact name
// (interop_tests.cmake).
using InteropUnix =
    InteropCaseSuite<Transport::kUnixPath, ServerApi::kCallback>;
using InteropTcp = InteropCaseSuite<Transport::kTcp, ServerApi::kCallback>;
using InteropUnixBlocking =
    InteropCaseSuite<Transport::kUnixPath, ServerApi::kBlocking>;
using InteropTcpBlocking =
    InteropCaseSuite<Transport::kTcp, ServerApi::kBlocking>;
using InteropUnixAll =
    InteropAllSuite<Transport::kUnixPath, ServerApi::kCallback>;
using InteropTcpAll = InteropAllSuite<Transport::kTcp, ServerApi::kCallback>;
using InteropUnixBlockingAll =
    InteropAllSuite<Transport::kUnixPath, ServerApi::kBlocking>;
using InteropTcpBlockingAll =
    InteropAllSuite<Transport::kTcp, ServerApi::kBlocking>;
using InteropTls =
    InteropCaseSuite<Transport::kTcp, ServerApi::kCallback, Security::kTls>;
using InteropTlsBlocking =
    InteropCaseSuite<Transport::kTcp, ServerApi::kBlocking, Security::kTls>;
using InteropTlsAll =
    InteropAllSuite<Transport::kTcp, ServerApi::kCallback, Security::kTls>;
using InteropTlsBlockingAll =
    InteropAllSuite<Transport::kTcp, ServerApi::kBlocking, Security::kTls>;

TEST_P(InteropUnix, CasePasses) { ExpectCasePasses(server(), GetParam()); }
TEST_P(InteropTcp, CasePasses) { ExpectCasePasses(server(), GetParam()); }
TEST_P(InteropUnixBlocking, CasePasses) {
  ExpectCasePasses(server(), GetParam());
}
TEST_P(InteropTcpBlocking, CasePasses) {
  ExpectCasePasses(server(), GetParam());
}
TEST_P(InteropTls, CasePasses) { ExpectCasePasses(server(), GetParam()); }
TEST_P(InteropTlsBlocking, CasePasses) {
  ExpectCasePasses(server(), GetParam());
}
INSTANTIATE_TEST_SUITE_P(Cases, InteropUnix, ::testing::ValuesIn(CaseNames()),
                         CaseTestName);
INSTANTIATE_TEST_SUITE_P(Cases, InteropTcp, ::testing::ValuesIn(CaseNames()),
                         CaseTestName);
INSTANTIATE_TEST_SUITE_P(Cases, InteropUnixBlocking,
                         ::testing::ValuesIn(CaseNames()), CaseTestName);
INSTANTIATE_TEST_SUITE_P(Cases, InteropTcpBlocking,
                         ::testing::ValuesIn(CaseNames()), CaseTestName);
INSTANTIATE_TEST_SUITE_P(Cases, InteropTls, ::testing::ValuesIn(CaseNames()),
                         CaseTestName);
INSTANTIATE_TEST_SUITE_P(Cases, InteropTlsBlocking,
                         ::testing::ValuesIn(CaseNames()), CaseTestName);

TEST_F(InteropUnixAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}
TEST_F(InteropTcpAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}
TEST_F(InteropUnixBlockingAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}
TEST_F(InteropTcpBlockingAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}
TEST_F(InteropTlsAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}
TEST_F(InteropTlsBlockingAll, EveryCasePassesInOneClientRun) {
  ExpectCasePasses(server(), "all");
}

}  // namespace
