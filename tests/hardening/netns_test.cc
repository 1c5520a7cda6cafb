// Between hosts, on one machine: three increment_server processes in three
// network namespaces joined to a client namespace by veth pairs
// (tests/hardening/netns_lab.h), every connection in mutual TLS. A name
// that resolves to all three (/etc/hosts of the client namespace) with
// round_robin; the same three behind HAProxy in TCP mode, TLS passing
// through it end to end; and faults mid-load (a host's packets dropped,
// its link down): calls fail over within the keepalive time-out, no call
// goes without an outcome or runs twice, and the host is used again once
// it is back. The clients are lab_client processes in the client
// namespace. Skipped, saying why, where namespaces cannot be made.
#include <signal.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/hardening/netns_lab.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::CertificateSpec;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::IssuedCertificate;
using ::sockrpc::testing::NetnsLab;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::TestPki;
using ::testing::HasSubstr;

constexpr int kHosts = 3;
constexpr char kName[] = "backends.test";
constexpr char kPort[] = "50051";
constexpr char kClientId[] = "spiffe://example.org/ns/lab/sa/client";
constexpr char kCallLine[] = "call /increment.Increment/Increment from";
constexpr absl::Duration kWait = absl::Seconds(30);

int Count(const std::string& text, const std::string& what) {
  int count = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// lab_client's last line: "started S ok O failed F".
struct Summary {
  int started = -1;
  int ok = -1;
  int failed = -1;
};

Summary SummaryOf(const std::string& output) {
  Summary summary;
  const size_t at = output.rfind("started ");
  if (at == std::string::npos) return summary;
  std::vector<std::string> words = absl::StrSplit(
      output.substr(at), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  if (words.size() < 6) return summary;
  (void)absl::SimpleAtoi(words[1], &summary.started);
  (void)absl::SimpleAtoi(words[3], &summary.ok);
  (void)absl::SimpleAtoi(words[5], &summary.failed);
  return summary;
}

class BetweenHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<NetnsLab>> lab =
        NetnsLab::Create(kHosts, kName);
    if (absl::IsFailedPrecondition(lab.status())) {
      GTEST_SKIP() << "network namespaces are not available here: "
                   << lab.status().message();
    }
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = *std::move(lab);
    absl::StatusOr<std::unique_ptr<TestPki>> pki =
        TestPki::Create(dir_.path(), "lab");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    CertificateSpec client;
    client.common_name = "client";
    client.alternative_names = {absl::StrCat("URI:", kClientId)};
    absl::StatusOr<IssuedCertificate> issued = pki_->Issue(client, "client");
    ASSERT_TRUE(issued.ok()) << issued.status();
    client_cert_ = *std::move(issued);
    for (int i = 0; i < kHosts; ++i) {
      // Each host's certificate: the shared name and its own address.
      CertificateSpec server;
      server.common_name = kName;
      server.alternative_names = {absl::StrCat("DNS:", kName),
                                  "IP:" + NetnsLab::HostAddress(i)};
      issued = pki_->Issue(server, absl::StrCat("server", i));
      ASSERT_TRUE(issued.ok()) << issued.status();
      const IssuedCertificate server_cert = *std::move(issued);
      absl::StatusOr<std::unique_ptr<ChildProcess>> process = NetnsLab::StartIn(
          lab_->host_namespace(i), BinaryPath("increment_server"),
          {absl::StrCat("--listen=", NetnsLab::HostAddress(i), ":", kPort),
           "--log_calls", "--tls_cert=" + server_cert.certificate_file,
           "--tls_key=" + server_cert.private_key_file,
           "--tls_client_ca=" + pki_->ca_file(),
           absl::StrCat("--tls_allowed_peers=", kClientId)});
      ASSERT_TRUE(process.ok()) << process.status();
      absl::StatusOr<StartedServer> started =
          sockrpc::testing::AwaitServing(*std::move(process));
      ASSERT_TRUE(started.ok()) << started.status();
      servers_.push_back(*std::move(started));
    }
  }

  // lab_client's flags for mutual TLS with the lab's certificates.
  std::vector<std::string> TlsFlags() const {
    return {"--cacert=" + pki_->ca_file(),
            "--cert=" + client_cert_.certificate_file,
            "--key=" + client_cert_.private_key_file};
  }

  // lab_client in the client namespace, to completion.
  ProgramRun RunClient(std::vector<std::string> flags) {
    for (std::string& flag : TlsFlags()) flags.push_back(std::move(flag));
    absl::StatusOr<ProgramRun> run = NetnsLab::RunIn(
        lab_->client_namespace(), BinaryPath("lab_client"), flags, kWait);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.value_or(ProgramRun{});
  }

  // lab_client in the client namespace, round_robin over the shared name
  // with TLS and `flags`, calling until StopLoad().
  absl::StatusOr<std::unique_ptr<ChildProcess>> StartLoad(
      std::vector<std::string> flags) const {
    for (std::string flag : {absl::StrCat("--target=dns:", kName, ":", kPort),
                             std::string("--load_balancing=round_robin"),
                             std::string("--calls=20000")}) {
      flags.push_back(std::move(flag));
    }
    for (std::string& flag : TlsFlags()) flags.push_back(std::move(flag));
    return NetnsLab::StartIn(lab_->client_namespace(), BinaryPath("lab_client"),
                             flags);
  }
  // Stops it (SIGTERM) and returns all it printed.
  static std::string StopLoad(ChildProcess& load) {
    EXPECT_TRUE(load.Signal(SIGTERM).ok());
    EXPECT_TRUE(load.WaitForExit(kWait).ok());
    EXPECT_TRUE(load.WaitForOutputEnd(kWait).ok());
    return load.StdoutText();
  }

  int Served(int i) const {
    return Count(servers_[i].process->StderrText(), kCallLine);
  }
  int ServedByAll() const {
    int total = 0;
    for (int i = 0; i < kHosts; ++i) total += Served(i);
    return total;
  }
  // Waits (bounded) until the servers have logged `total` calls: a call's
  // log line may come a little after its reply.
  void AwaitServed(int total) const {
    const absl::Time give_up = absl::Now() + kWait;
    while (ServedByAll() < total && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_GE(ServedByAll(), total);
  }
  // Every call each server logged came over TLS from the lab's client.
  void ExpectEveryCallFromTheClientOverTls() const {
    for (int i = 0; i < kHosts; ++i) {
      const std::string log = servers_[i].process->StderrText();
      EXPECT_EQ(Count(log, absl::StrCat("[tls: ", kClientId, "]: OK")),
                Count(log, kCallLine))
          << log;
    }
  }
  void ExpectSpread(int total) const {
    for (int i = 0; i < kHosts; ++i) {
      EXPECT_GE(Served(i), total / kHosts * 8 / 10) << "server " << i;
      EXPECT_LE(Served(i), total / kHosts * 12 / 10) << "server " << i;
    }
  }

  TempDir dir_;
  std::unique_ptr<NetnsLab> lab_;
  std::unique_ptr<TestPki> pki_;
  IssuedCertificate client_cert_;
  std::vector<StartedServer> servers_;
};

TEST_F(BetweenHostsTest, RoundRobinOverANameSpreadsCallsOverEveryHost) {
  constexpr int kCalls = 60;
  const ProgramRun run = RunClient(
      {absl::StrCat("--target=dns:", kName, ":", kPort),
       "--load_balancing=round_robin", absl::StrCat("--calls=", kCalls)});
  EXPECT_THAT(
      run.stdout_text,
      HasSubstr(absl::StrCat("started ", kCalls, " ok ", kCalls, " failed 0")))
      << run.stderr_text;
  ASSERT_NO_FATAL_FAILURE(AwaitServed(kCalls));
  EXPECT_EQ(ServedByAll(), kCalls);
  ExpectSpread(kCalls);
  ExpectEveryCallFromTheClientOverTls();
}

// A list of addresses: each host's certificate is checked against the
// address that connection reached, not the list's first.
TEST_F(BetweenHostsTest, RoundRobinOverAddressesChecksEachHostByItsAddress) {
  constexpr int kCalls = 30;
  std::string target = "ipv4:";
  for (int i = 0; i < kHosts; ++i) {
    absl::StrAppend(&target, i > 0 ? "," : "", NetnsLab::HostAddress(i), ":",
                    kPort);
  }
  const ProgramRun run =
      RunClient({"--target=" + target, "--load_balancing=round_robin",
                 absl::StrCat("--calls=", kCalls)});
  EXPECT_THAT(
      run.stdout_text,
      HasSubstr(absl::StrCat("started ", kCalls, " ok ", kCalls, " failed 0")))
      << run.stdout_text << run.stderr_text;
  ASSERT_NO_FATAL_FAILURE(AwaitServed(kCalls));
  ExpectSpread(kCalls);
}

// The name is listed again every resolve_interval, in the background: a
// host added to it gets calls, and no call fails meanwhile.
TEST_F(BetweenHostsTest, RoundRobinTakesAHostAddedToTheName) {
  ASSERT_TRUE(lab_->ListUnderSharedName(2).ok());
  absl::StatusOr<std::unique_ptr<ChildProcess>> client =
      StartLoad({"--interval=2ms", "--resolve_interval=100ms"});
  ASSERT_TRUE(client.ok()) << client.status();
  ChildProcess& load = **client;
  ASSERT_TRUE(load.WaitForLine("call 20 ", kWait).ok());
  EXPECT_EQ(Served(2), 0);

  ASSERT_TRUE(lab_->ListUnderSharedName(kHosts).ok());
  const absl::Time give_up = absl::Now() + kWait;
  while (Served(2) == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(Served(2), 0) << "the added host got no call";

  const std::string output = StopLoad(load);
  const Summary summary = SummaryOf(output);
  EXPECT_GT(summary.started, 20);
  EXPECT_EQ(summary.failed, 0) << output;
  EXPECT_EQ(summary.ok, summary.started);
}

TEST_F(BetweenHostsTest, BehindHaproxyInTcpModeTlsGoesEndToEnd) {
  // HAProxy in the client namespace, as a load balancer in front of the
  // hosts would be: TCP mode, one backend per connection in turn. It sees
  // only TLS records; the servers check the client's certificate.
  const std::string config = dir_.path() + "/haproxy.cfg";
  std::string text =
      "global\n  maxconn 256\n"
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
      "  timeout server 30s\n"
      "frontend rpc\n  bind 127.0.0.1:8443\n  default_backend hosts\n"
      "backend hosts\n  balance roundrobin\n";
  for (int i = 0; i < kHosts; ++i) {
    absl::StrAppend(&text, "  server h", i + 1, " ", NetnsLab::HostAddress(i),
                    ":", kPort, "\n");
  }
  {
    FILE* file = std::fopen(config.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(text.c_str(), file);
    std::fclose(file);
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> haproxy = NetnsLab::StartIn(
      lab_->client_namespace(), "/usr/sbin/haproxy", {"-db", "-f", config});
  ASSERT_TRUE(haproxy.ok()) << haproxy.status();
  // HAProxy prints nothing when it is ready: a bounded wait for the first
  // call to get through.
  const std::vector<std::string> through = {
      "--target=ipv4:127.0.0.1:8443", absl::StrCat("--server_name=", kName),
      "--connect_timeout=1s"};
  ProgramRun probe;
  const absl::Time give_up = absl::Now() + kWait;
  do {
    std::vector<std::string> flags = through;
    flags.push_back("--calls=1");
    probe = RunClient(flags);
  } while (probe.stdout_text.find("ok 1 ") == std::string::npos &&
           absl::Now() < give_up);
  ASSERT_THAT(probe.stdout_text, HasSubstr("ok 1 ")) << probe.stderr_text;
  ASSERT_NO_FATAL_FAILURE(AwaitServed(1));
  std::vector<int> before;
  for (int i = 0; i < kHosts; ++i) before.push_back(Served(i));

  // 30 channels, each its own connection through HAProxy, a call each.
  constexpr int kCalls = 30;
  std::vector<std::string> flags = through;
  flags.push_back(absl::StrCat("--connections=", kCalls));
  flags.push_back(absl::StrCat("--calls=", kCalls));
  const ProgramRun run = RunClient(flags);
  EXPECT_THAT(
      run.stdout_text,
      HasSubstr(absl::StrCat("started ", kCalls, " ok ", kCalls, " failed 0")))
      << run.stderr_text;
  ASSERT_NO_FATAL_FAILURE(AwaitServed(kCalls + 1));
  for (int i = 0; i < kHosts; ++i) {
    const int served = Served(i) - before[i];
    EXPECT_GE(served, kCalls / kHosts * 8 / 10) << "server " << i;
    EXPECT_LE(served, kCalls / kHosts * 12 / 10) << "server " << i;
  }
  ExpectEveryCallFromTheClientOverTls();
}

// TLS bad input between hosts: each a clear error from lab_client, within
// its bounded run, and the hosts go on serving.
TEST_F(BetweenHostsTest, TlsBadInputEndsInClearErrors) {
  const std::string host =
      absl::StrCat("--target=ipv4:", NetnsLab::HostAddress(0), ":", kPort);
  absl::StatusOr<std::unique_ptr<TestPki>> other =
      TestPki::Create(dir_.path(), "other");
  ASSERT_TRUE(other.ok()) << other.status();
  CertificateSpec expired;
  expired.common_name = "client";
  expired.alternative_names = {absl::StrCat("URI:", kClientId)};
  expired.not_before = -absl::Hours(48);
  expired.not_after = -absl::Hours(24);
  absl::StatusOr<IssuedCertificate> old = pki_->Issue(expired, "expired");
  ASSERT_TRUE(old.ok()) << old.status();
  // A plain server beside the TLS one on host 1, for the reverse case.
  absl::StatusOr<std::unique_ptr<ChildProcess>> plain = NetnsLab::StartIn(
      lab_->host_namespace(0), BinaryPath("increment_server"),
      {absl::StrCat("--listen=", NetnsLab::HostAddress(0), ":50052")});
  ASSERT_TRUE(plain.ok()) << plain.status();
  absl::StatusOr<StartedServer> plain_server =
      sockrpc::testing::AwaitServing(*std::move(plain));
  ASSERT_TRUE(plain_server.ok()) << plain_server.status();

  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{host, "--cacert=" + (*other)->ca_file(),
        "--cert=" + client_cert_.certificate_file,
        "--key=" + client_cert_.private_key_file},
       "TLS handshake failed: certificate verify failed"},
      {{host, "--cacert=" + pki_->ca_file(), "--cert=" + old->certificate_file,
        "--key=" + old->private_key_file},
       "certificate expired"},
      {{host, "--cacert=" + pki_->ca_file()}, "certificate required"},
      {{host}, "this server speaks TLS on this port: connect with TLS"},
      {{absl::StrCat("--target=ipv4:", NetnsLab::HostAddress(0), ":50052"),
        "--cacert=" + pki_->ca_file()},
       "(the peer does not speak TLS)"},
  };
  for (const Case& each : cases) {
    std::vector<std::string> flags = each.flags;
    flags.push_back("--calls=1");
    absl::StatusOr<ProgramRun> run = NetnsLab::RunIn(
        lab_->client_namespace(), BinaryPath("lab_client"), flags, kWait);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_THAT(run->stdout_text, HasSubstr(each.error))
        << absl::StrJoin(each.flags, " ");
    EXPECT_THAT(run->stdout_text, HasSubstr("started 1 ok 0 failed 1"));
  }
  const ProgramRun run = RunClient({host, "--calls=3"});
  EXPECT_THAT(run.stdout_text, HasSubstr("started 3 ok 3 failed 0"));
}

// Calls one after another over round_robin, keepalive 300 ms / 300 ms,
// while host 2 fails and comes back: `fail` and `heal` do it. The default
// connect_timeout (20 s) stays: host 2 is connected again in the
// background while the calls go to the others.
class FaultTest : public BetweenHostsTest,
                  public ::testing::WithParamInterface<bool> {
 protected:
  absl::Status Fail(bool failed) {
    return GetParam() ? lab_->DropPackets(1, failed)
                      : lab_->SetLinkUp(1, !failed);
  }
};

TEST_P(FaultTest, CallsFailOverWithinTheKeepaliveAndTheHostComesBack) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> client =
      StartLoad({"--interval=5ms", "--keepalive_time=300ms",
                 "--keepalive_timeout=300ms", "--deadline=20s"});
  ASSERT_TRUE(client.ok()) << client.status();
  ChildProcess& load = **client;
  ASSERT_TRUE(load.WaitForLine("call 30 ", kWait).ok());

  ASSERT_TRUE(Fail(true).ok());
  if (GetParam()) {
    std::printf("dropping packets by %s\n", lab_->drop_method().c_str());
  }
  // The load goes on over the other two meanwhile.
  const int served_when_failed = Served(1);
  absl::StatusOr<std::string> progress =
      load.WaitForLine(absl::StrCat("call ", 30 + 100, " "), kWait);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_LE(Served(1), served_when_failed + 1);  // at most one in flight

  ASSERT_TRUE(Fail(false).ok());
  // Back within its backoff: host 2 serves calls again.
  const int served_when_healed = Served(1);
  const absl::Time give_up = absl::Now() + kWait;
  while (Served(1) <= served_when_healed + 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(Served(1), served_when_healed + 2) << "host 2 never came back";

  const std::string output = StopLoad(load);
  const Summary summary = SummaryOf(output);
  // For the log: what happened to the calls.
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StrContains(line, "FAILED") ||
        absl::StartsWith(line, "started")) {
      std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    }
  }
  // Every call has its one outcome; the failures are the calls that were
  // waiting on host 2 when it failed, ended by the keepalive (not by their
  // 20 s deadline), and no call ran twice.
  EXPECT_EQ(summary.started, summary.ok + summary.failed) << output;
  EXPECT_LE(summary.failed, 2) << output;
  EXPECT_EQ(Count(output, " OK\n"), summary.ok);
  EXPECT_EQ(Count(output, "FAILED: UNAVAILABLE"), summary.failed) << output;
  EXPECT_EQ(Count(output, "keepalive") + Count(output, "unreachable"),
            summary.failed)
      << output;
  ASSERT_NO_FATAL_FAILURE(AwaitServed(summary.ok));
  EXPECT_LE(ServedByAll(), summary.started);
  ExpectEveryCallFromTheClientOverTls();
}

INSTANTIATE_TEST_SUITE_P(PacketsDroppedOrLinkDown, FaultTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PacketsDropped" : "LinkDown";
                         });

}  // namespace
