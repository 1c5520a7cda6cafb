// TLS over TCP with real increment_server and increment_client processes
// and certificates made for each test (tests/testing/test_pki.h): calls
// over TLS, the client's identity in the server's call log (mutual TLS,
// SPIFFE IDs, the allow-list), certificates re-read without a restart,
// and bad input on either side: an unknown authority, an expired or
// misnamed certificate, a client without a certificate where one is
// required, plain TCP to a TLS port and the reverse, a handshake that
// stalls. Each must end in a clear error, and nothing may hang.
#include <stdio.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_calls.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"
#include "transport/sync.h"

namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::CertificateSpec;
using ::sockrpc::testing::Increment;
using ::sockrpc::testing::IssuedCertificate;
using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::OpenSilentPort;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::RunProgram;
using ::sockrpc::testing::SilentPort;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::TestPki;
using ::sockrpc::testing::ThreadsNamed;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kClientId[] = "spiffe://example.org/ns/test/sa/client";
constexpr char kIntruderId[] = "spiffe://example.org/ns/test/sa/intruder";

CertificateSpec ClientSpec(const std::string& spiffe_id) {
  CertificateSpec spec;
  spec.common_name = "client";
  spec.alternative_names = {absl::StrCat("URI:", spiffe_id)};
  return spec;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestPki>> pki =
        TestPki::Create(dir_.path(), "test");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    server_cert_ = Issue(sockrpc::testing::LocalServerSpec(), "server");
    client_cert_ = Issue(ClientSpec(kClientId), "client");
  }

  IssuedCertificate Issue(const CertificateSpec& spec, const std::string& stem,
                          TestPki* pki = nullptr) {
    absl::StatusOr<IssuedCertificate> issued =
        (pki != nullptr ? pki : pki_.get())->Issue(spec, stem);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.value_or(IssuedCertificate{});
  }

  // Starts increment_server with TLS (server_cert_) on 127.0.0.1, plus
  // `flags`; `port_`/`address_` say where.
  void StartServer(std::vector<std::string> flags = {}, bool tls = true) {
    flags.push_back("--log_calls");
    if (tls) {
      flags.push_back("--tls_cert=" + server_cert_.certificate_file);
      flags.push_back("--tls_key=" + server_cert_.private_key_file);
    }
    absl::StatusOr<StartedServer> server =
        StartServerBinary("increment_server", "127.0.0.1:0", flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_.address.substr(server_.address.rfind(':') + 1);
  }

  // Runs increment_client against the server with `flags`.
  ProgramRun RunClient(std::vector<std::string> flags,
                       const std::string& target = "") {
    flags.push_back("--target=" + (target.empty() ? server_.address : target));
    flags.push_back("--deadline=10s");
    absl::StatusOr<ProgramRun> run =
        RunProgram(BinaryPath("increment_client"), flags, kIoTimeout * 2);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.value_or(ProgramRun{});
  }

  static void ExpectAnswered(const ProgramRun& run) {
    EXPECT_EQ(run.stdout_text, "char from server = B\n") << run.stderr_text;
  }
  static void ExpectFailedWith(const ProgramRun& run,
                               const std::string& error) {
    EXPECT_TRUE(WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 1)
        << run.stdout_text << run.stderr_text;
    EXPECT_THAT(run.stderr_text, HasSubstr(error));
  }

  // A channel to the server that trusts the test's authority, with `tls`'s
  // client certificate if it names one (nullptr, the test failed, if it
  // cannot be made).
  std::shared_ptr<sockrpc::Channel> TlsChannel(
      sockrpc::TlsChannelOptions tls = {}) {
    tls.ca_file = pki_->ca_file();
    sockrpc::ChannelOptions options;
    options.tls = std::move(tls);
    return sockrpc::testing::MakeChannel(server_.address, options);
  }

  // Renews `old`'s files with `renewed`'s, renamed over them as certificate
  // tools do. The key first: a certificate without its key fails to load,
  // and the reader keeps the old pair until both are there.
  static void RenameOver(const IssuedCertificate& renewed,
                         const IssuedCertificate& old) {
    ASSERT_EQ(::rename(renewed.private_key_file.c_str(),
                       old.private_key_file.c_str()),
              0);
    ASSERT_EQ(::rename(renewed.certificate_file.c_str(),
                       old.certificate_file.c_str()),
              0);
  }

  // Expects the server to log a line holding `text` (its log arrives
  // apart from the client's exit: a bounded wait).
  void ExpectServerLogged(const std::string& text) {
    absl::StatusOr<std::string> line =
        server_.process->WaitForLine(text, kIoTimeout);
    EXPECT_TRUE(line.ok()) << line.status();
  }

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  IssuedCertificate server_cert_;
  IssuedCertificate client_cert_;
  StartedServer server_;
  std::string port_;
};

// What /proc says `pid` has mapped.
std::string MappedFilesOf(pid_t pid) {
  std::ifstream maps(absl::StrCat("/proc/", pid, "/maps"));
  std::stringstream text;
  text << maps.rdbuf();
  return text.str();
}

// OpenSSL is loaded by the first TLS context (transport/openssl_library.h),
// not linked: a program that never uses TLS never maps it.
TEST_F(TlsTest, OnlyProgramsThatUseTlsLoadOpenSsl) {
  // The client's loader says which libraries it loads (LD_DEBUG=files),
  // the server's /proc/PID/maps what it has mapped.
  auto run_client = [this](std::vector<std::string> flags) {
    std::vector<std::string> args = {
        "LD_DEBUG=files", BinaryPath("increment_client"),
        "--target=" + server_.address, "--deadline=10s"};
    args.insert(args.end(), flags.begin(), flags.end());
    absl::StatusOr<ProgramRun> run =
        RunProgram("/usr/bin/env", args, kIoTimeout * 2);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.value_or(ProgramRun{});
  };
  ASSERT_NO_FATAL_FAILURE(StartServer({}, /*tls=*/false));
  const ProgramRun plain = run_client({});
  ExpectAnswered(plain);
  EXPECT_THAT(plain.stderr_text, HasSubstr("file=libprotobuf"));
  EXPECT_THAT(plain.stderr_text, Not(HasSubstr("libssl")));
  EXPECT_THAT(plain.stderr_text, Not(HasSubstr("libcrypto")));
  EXPECT_THAT(MappedFilesOf(server_.process->pid()), HasSubstr("libprotobuf"));
  EXPECT_THAT(MappedFilesOf(server_.process->pid()), Not(HasSubstr("libssl")));

  ASSERT_NO_FATAL_FAILURE(StartServer());
  const ProgramRun secure = run_client({"--cacert=" + pki_->ca_file()});
  ExpectAnswered(secure);
  EXPECT_THAT(secure.stderr_text, HasSubstr("file=libssl.so.3"));
  EXPECT_THAT(MappedFilesOf(server_.process->pid()), HasSubstr("/libssl.so.3"));
}

TEST_F(TlsTest, ClientCallsOverTlsAndTheServerLogsTheSession) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file()}));
  ExpectServerLogged("[tls: no certificate]: OK");
}

TEST_F(TlsTest, TheCliCallsListsAndChecksHealthOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string sockrpc = BinaryPath("sockrpc");
  absl::StatusOr<ProgramRun> call =
      RunProgram(sockrpc,
                 {"call", server_.address, "increment.Increment/Increment",
                  "-d", R"({"character":"A"})", "--cacert", pki_->ca_file()},
                 kIoTimeout);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->stdout_text, "{\"character\":\"B\"}\n") << call->stderr_text;
  absl::StatusOr<ProgramRun> list = RunProgram(
      sockrpc, {"list", server_.address, "--cacert", pki_->ca_file()},
      kIoTimeout);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->stdout_text, HasSubstr("increment.Increment\n"))
      << list->stderr_text;
  // Without TLS, and with TLS but no trust in the server: clear errors.
  absl::StatusOr<ProgramRun> plain =
      RunProgram(sockrpc, {"list", server_.address}, kIoTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_THAT(plain->stderr_text, HasSubstr("connect with TLS"));
  absl::StatusOr<ProgramRun> untrusted =
      RunProgram(sockrpc, {"list", server_.address, "--tls"}, kIoTimeout);
  ASSERT_TRUE(untrusted.ok()) << untrusted.status();
  EXPECT_THAT(untrusted->stderr_text, HasSubstr("certificate verify failed"));
  absl::StatusOr<ProgramRun> insecure =
      RunProgram(sockrpc, {"list", server_.address, "--insecure"}, kIoTimeout);
  ASSERT_TRUE(insecure.ok()) << insecure.status();
  EXPECT_THAT(insecure->stdout_text, HasSubstr("increment.Increment\n"));
  absl::StatusOr<ProgramRun> health = RunProgram(
      sockrpc, {"health", server_.address, "--cacert", pki_->ca_file()},
      kIoTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->stdout_text, "SERVING\n") << health->stderr_text;
}

// The tap ends TLS on both sides and shows the frames inside; a client
// that closes is an ordinary end of stream, not a TLS error.
TEST_F(TlsTest, TheTapShowsTheFramesInsideTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  absl::StatusOr<std::unique_ptr<sockrpc::testing::ChildProcess>> tap =
      sockrpc::testing::ChildProcess::Start(
          BinaryPath("sockrpc"),
          {"tap", "--listen", "127.0.0.1:0", "--upstream", server_.address,
           "--tls-cert", server_cert_.certificate_file, "--tls-key",
           server_cert_.private_key_file, "--cacert", pki_->ca_file(),
           "--no-color"});
  ASSERT_TRUE(tap.ok()) << tap.status();
  absl::StatusOr<std::string> listening =
      (*tap)->WaitForLine("sockrpc tap: listening on ", kIoTimeout);
  ASSERT_TRUE(listening.ok()) << listening.status();
  const size_t at = listening->find("listening on ") + 13;
  const std::string address =
      listening->substr(at, listening->find(',', at) - at);
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file()}, address));
  EXPECT_TRUE((*tap)
                  ->WaitForLine(R"(increment.IncrementReply {"character":"B"})",
                                kIoTimeout)
                  .ok());
  absl::StatusOr<std::string> end =
      (*tap)->WaitForLine("#1 C->S END", kIoTimeout);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_THAT(*end, HasSubstr(": EOF"));
}

TEST_F(TlsTest, TheServerIsCheckedByTheNameInTheTarget) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  // By DNS name ("localhost" is in the certificate), by IP address, and
  // by a name the certificate does not carry.
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file()},
                           absl::StrCat("localhost:", port_)));
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file()},
                           absl::StrCat("ipv4:127.0.0.1:", port_)));
  ExpectFailedWith(RunClient({"--cacert=" + pki_->ca_file(),
                              "--server_name=db.example.org"}),
                   "certificate verify failed: hostname mismatch");
}

TEST_F(TlsTest, MutualTlsAdmitsTheListedClientAndNamesIt) {
  const IssuedCertificate intruder = Issue(ClientSpec(kIntruderId), "intruder");
  ASSERT_NO_FATAL_FAILURE(
      StartServer({"--tls_client_ca=" + pki_->ca_file(),
                   absl::StrCat("--tls_allowed_peers=", kClientId)}));
  const std::string roots = "--cacert=" + pki_->ca_file();
  ExpectAnswered(RunClient({roots, "--cert=" + client_cert_.certificate_file,
                            "--key=" + client_cert_.private_key_file}));
  ExpectServerLogged(absl::StrCat("[tls: ", kClientId, "]"));

  // A certificate the roots vouch for, but not on the list.
  ExpectFailedWith(RunClient({roots, "--cert=" + intruder.certificate_file,
                              "--key=" + intruder.private_key_file}),
                   "UNAVAILABLE");
  ExpectServerLogged(absl::StrCat("the client's certificate names ",
                                  kIntruderId, ": not in allowed_peers"));
  // No certificate at all: the list asks for one.
  ExpectFailedWith(RunClient({roots}), "certificate required");
  ExpectServerLogged("peer did not return a certificate");
}

TEST_F(TlsTest, AClientCertificateFromAnotherAuthorityIsRefused) {
  absl::StatusOr<std::unique_ptr<TestPki>> other =
      TestPki::Create(dir_.path(), "other");
  ASSERT_TRUE(other.ok()) << other.status();
  const IssuedCertificate stranger =
      Issue(ClientSpec(kClientId), "stranger", other->get());
  ASSERT_NO_FATAL_FAILURE(StartServer(
      {"--tls_client_ca=" + pki_->ca_file(), "--tls_require_client_cert"}));
  ExpectFailedWith(RunClient({"--cacert=" + pki_->ca_file(),
                              "--cert=" + stranger.certificate_file,
                              "--key=" + stranger.private_key_file}),
                   "UNAVAILABLE");
  ExpectServerLogged("TLS handshake failed: certificate verify failed");
  // The server goes on serving the others.
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file(),
                            "--cert=" + client_cert_.certificate_file,
                            "--key=" + client_cert_.private_key_file}));
}

TEST_F(TlsTest, AServerFromAnUnknownAuthorityIsRefused) {
  absl::StatusOr<std::unique_ptr<TestPki>> other =
      TestPki::Create(dir_.path(), "other");
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectFailedWith(RunClient({"--cacert=" + (*other)->ca_file()}),
                   "TLS handshake failed: certificate verify failed: unable "
                   "to get local issuer certificate");
}

TEST_F(TlsTest, AnExpiredServerCertificateIsRefused) {
  CertificateSpec expired = sockrpc::testing::LocalServerSpec();
  expired.not_before = -absl::Hours(48);
  expired.not_after = -absl::Hours(24);
  server_cert_ = Issue(expired, "expired");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectFailedWith(RunClient({"--cacert=" + pki_->ca_file()}),
                   "certificate verify failed: certificate has expired");
}

TEST_F(TlsTest, PlainTcpToATlsPortIsToldToUseTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectFailedWith(RunClient({}),
                   "this server speaks TLS on this port: connect with TLS");
  ExpectServerLogged("the client does not speak TLS");
}

TEST_F(TlsTest, TlsToAPlainPortSaysTheServerDoesNotSpeakTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer({}, /*tls=*/false));
  ExpectFailedWith(RunClient({"--cacert=" + pki_->ca_file()}),
                   "(the peer does not speak TLS)");
  // The server is fine, and serves plain clients.
  ExpectAnswered(RunClient({}));
}

TEST_F(TlsTest, AStalledHandshakeIsDroppedAtTheHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--handshake_timeout=500ms"}));
  // The start of a ClientHello record, and then nothing.
  absl::StatusOr<RawConnection> raw =
      RawConnection::Open(server_.address, kIoTimeout);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE(raw->Send(std::string("\x16\x03\x01\x00", 4), kIoTimeout).ok());
  EXPECT_TRUE(raw->WaitForClose(kIoTimeout).ok());
  // Meanwhile and after, others are served.
  ExpectAnswered(RunClient({"--cacert=" + pki_->ca_file()}));
}

// round_robin over the server and a port that takes the connection but
// never answers the handshake: every call goes to the server, none waits
// for the handshake's deadline (an hour here), and the channel's end
// cancels it.
TEST_F(TlsTest, AHandshakeThatHangsHoldsUpNoCallOfRoundRobin) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  absl::StatusOr<SilentPort> silent =
      OpenSilentPort(SilentPort::kTakesConnections);
  ASSERT_TRUE(silent.ok()) << silent.status();
  {
    sockrpc::ChannelOptions options;
    options.load_balancing = sockrpc::LoadBalancing::kRoundRobin;
    options.connect_timeout = absl::Hours(1);
    options.tls.emplace().ca_file = pki_->ca_file();
    std::shared_ptr<sockrpc::Channel> channel = sockrpc::testing::MakeChannel(
        absl::StrCat("ipv4:127.0.0.1:", silent->port, ",127.0.0.1:", port_),
        options);
    ASSERT_NE(channel, nullptr);
    increment::Increment::Stub stub(channel);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(Increment(stub, "A").ok()) << "call " << i;
    }
    // The attempt waits on its own thread (others may still be ending).
    EXPECT_GE(ThreadsNamed("sockrpc-connect"), 1);
  }
  EXPECT_EQ(ThreadsNamed("sockrpc-connect"), 0);
}

// Certificates are renewed by writing new files (here: renamed over the
// old ones, as certificate tools do): new connections get the new
// certificate within about a second, without a restart, and open
// connections go on.
TEST_F(TlsTest, ChangedCertificateFilesAreTakenWithoutARestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<sockrpc::Channel> old_channel = TlsChannel();
  ASSERT_NE(old_channel, nullptr);
  increment::Increment::Stub old_stub(old_channel);
  ASSERT_TRUE(Increment(old_stub, "A").ok());

  absl::StatusOr<std::unique_ptr<TestPki>> renewed =
      TestPki::Create(dir_.path(), "renewed");
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  const IssuedCertificate next =
      Issue(sockrpc::testing::LocalServerSpec(), "next", renewed->get());
  ASSERT_NO_FATAL_FAILURE(RenameOver(next, server_cert_));
  const std::string new_roots = "--cacert=" + (*renewed)->ca_file();
  ProgramRun run;
  const absl::Time give_up = absl::Now() + kIoTimeout;
  do {
    run = RunClient({new_roots});
  } while (run.stdout_text.empty() && absl::Now() < give_up);
  ExpectAnswered(run);
  // The old roots no longer vouch for new connections; the old connection
  // is as it was.
  ExpectFailedWith(RunClient({"--cacert=" + pki_->ca_file()}),
                   "certificate verify failed");
  absl::StatusOr<std::string> reply = Increment(old_stub, "A");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "B");
}

// A client's own certificate is renewed the same way: the channel's next
// connection (here after the server closed the idle one) shows the new one.
TEST_F(TlsTest, AClientsRenewedCertificateIsUsedByItsNextConnection) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer({"--tls_client_ca=" + pki_->ca_file(),
                   "--tls_require_client_cert", "--idle_timeout=200ms"}));
  sockrpc::TlsChannelOptions own_certificate;
  own_certificate.certificate_file = client_cert_.certificate_file;
  own_certificate.private_key_file = client_cert_.private_key_file;
  std::shared_ptr<sockrpc::Channel> channel = TlsChannel(own_certificate);
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  ASSERT_TRUE(Increment(stub, "A").ok());
  ExpectServerLogged(absl::StrCat("[tls: ", kClientId, "]"));

  const IssuedCertificate renewed =
      Issue(ClientSpec(kIntruderId), "renewed-client");
  ASSERT_NO_FATAL_FAILURE(RenameOver(renewed, client_cert_));
  const std::string renewed_line = absl::StrCat("[tls: ", kIntruderId, "]");
  const absl::Time give_up = absl::Now() + kIoTimeout;
  while (server_.process->StderrText().find(renewed_line) ==
             std::string::npos &&
         absl::Now() < give_up) {
    // Quiet past the idle time-out, so that the server closes the
    // connection and the next call makes a new one.
    absl::SleepFor(absl::Milliseconds(300));
    (void)Increment(stub, "A");
  }
  ExpectServerLogged(renewed_line);
}

TEST_F(TlsTest, BadTlsSettingsFailTheServerAtStart) {
  absl::StatusOr<ProgramRun> run = RunProgram(
      BinaryPath("increment_server"),
      {"--listen=127.0.0.1:0", "--tls_cert=" + server_cert_.certificate_file,
       "--tls_key=" + client_cert_.private_key_file},
      kIoTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(WIFEXITED(run->wait_status) &&
              WEXITSTATUS(run->wait_status) == 1);
  EXPECT_THAT(run->stderr_text, HasSubstr("TLS: cannot load the private key"));
  // Client certificates asked for without a certificate of its own: it
  // would serve in plaintext and check nobody. It refuses to start.
  run =
      RunProgram(BinaryPath("increment_server"),
                 {"--listen=127.0.0.1:0", "--tls_client_ca=" + pki_->ca_file(),
                  absl::StrCat("--tls_allowed_peers=", kClientId)},
                 kIoTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(WIFEXITED(run->wait_status) &&
              WEXITSTATUS(run->wait_status) == 2);
  EXPECT_THAT(run->stderr_text, HasSubstr("need --tls_cert and --tls_key"));
}

// The callback API's event loop reads TLS too (its own read path).
TEST_F(TlsTest, CallbackCallsOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  // (Declared before the channel, which ends any call still out first.)
  constexpr int kCalls = 50;
  struct Call {
    sockrpc::ClientContext context;
    increment::IncrementRequest request;
    increment::IncrementReply reply;
  };
  std::vector<std::unique_ptr<Call>> calls;
  sockrpc::Mutex mu;
  int done = 0;
  int ok = 0;
  std::shared_ptr<sockrpc::Channel> channel = TlsChannel();
  ASSERT_NE(channel, nullptr);
  increment::Increment::Stub stub(channel);
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<Call>());
    Call& call = *calls.back();
    call.context.set_timeout(kIoTimeout);
    call.request.set_character(std::string(1, static_cast<char>('a' + i % 20)));
    stub.async()->Increment(&call.context, &call.request, &call.reply,
                            [&](absl::Status status) {
                              sockrpc::MutexLock lock(&mu);
                              ++done;
                              if (status.ok()) ++ok;
                            });
  }
  sockrpc::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithDeadline([&] { return done == kCalls; },
                                   absl::Now() + kIoTimeout));
  EXPECT_EQ(ok, kCalls);
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(calls[i]->reply.character(),
              std::string(1, static_cast<char>('a' + i % 20 + 1)));
  }
}

}  // namespace
