#include "tests/hardening/netns_lab.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace testing {
namespace {

constexpr char kIp[] = "/usr/sbin/ip";
constexpr absl::Duration kCommandTimeout = absl::Seconds(10);

bool Succeeded(const ProgramRun& run) {
  return WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0;
}

std::string Describe(const std::string& binary,
                     const std::vector<std::string>& args,
                     const ProgramRun& run) {
  return absl::StrCat(binary, " ", absl::StrJoin(args, " "), ": ",
                      DescribeWaitStatus(run.wait_status), ": ",
                      run.stderr_text, run.stdout_text);
}

}  // namespace

std::string NetnsLab::HostAddress(int i) {
  return absl::StrCat("10.77.", i + 1, ".2");
}

absl::Status NetnsLab::Ip(const std::vector<std::string>& args) {
  absl::StatusOr<ProgramRun> run = RunProgram(kIp, args, kCommandTimeout);
  if (!run.ok()) return run.status();
  if (!Succeeded(*run)) {
    return absl::FailedPreconditionError(Describe("ip", args, *run));
  }
  return absl::OkStatus();
}

absl::Status NetnsLab::Run(const std::string& ns, const std::string& binary,
                           const std::vector<std::string>& args) {
  absl::StatusOr<ProgramRun> run = RunIn(ns, binary, args, kCommandTimeout);
  if (!run.ok()) return run.status();
  if (!Succeeded(*run)) {
    return absl::InternalError(Describe(binary, args, *run));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ChildProcess>> NetnsLab::StartIn(
    const std::string& ns, const std::string& binary,
    const std::vector<std::string>& args) {
  std::vector<std::string> all = {"netns", "exec", ns, binary};
  all.insert(all.end(), args.begin(), args.end());
  return ChildProcess::Start(kIp, all);
}

absl::StatusOr<ProgramRun> NetnsLab::RunIn(const std::string& ns,
                                           const std::string& binary,
                                           const std::vector<std::string>& args,
                                           absl::Duration timeout) {
  std::vector<std::string> all = {"netns", "exec", ns, binary};
  all.insert(all.end(), args.begin(), args.end());
  return RunProgram(kIp, all, timeout);
}

absl::StatusOr<std::unique_ptr<NetnsLab>> NetnsLab::Create(
    int hosts, const std::string& shared_name) {
  if (::access(kIp, X_OK) != 0) {
    return absl::FailedPreconditionError("no " + std::string(kIp));
  }
  std::unique_ptr<NetnsLab> lab(new NetnsLab());
  const std::string prefix = absl::StrCat("sockrpc", ::getpid());
  lab->client_ = prefix + "c";
  // The first command says whether namespaces can be made here at all.
  if (absl::Status made = Ip({"netns", "add", lab->client_}); !made.ok()) {
    lab->client_.clear();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot make a network namespace here: ", made.message()));
  }
  absl::Status status = Ip({"-n", lab->client_, "link", "set", "lo", "up"});
  for (int i = 0; i < hosts && status.ok(); ++i) {
    const std::string host = absl::StrCat(prefix, "h", i + 1);
    const std::string link = absl::StrCat("h", i + 1);
    status = Ip({"netns", "add", host});
    if (!status.ok()) break;
    lab->hosts_.push_back(host);
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{
             {"-n", host, "link", "set", "lo", "up"},
             {"link", "add", link, "netns", lab->client_, "type", "veth",
              "peer", "name", "eth0", "netns", host},
             {"-n", lab->client_, "addr", "add",
              absl::StrCat("10.77.", i + 1, ".1/24"), "dev", link},
             {"-n", lab->client_, "link", "set", link, "up"},
             {"-n", host, "addr", "add", HostAddress(i) + "/24", "dev", "eth0"},
             {"-n", host, "link", "set", "eth0", "up"}}) {
      status = Ip(command);
      if (!status.ok()) break;
    }
  }
  if (!status.ok()) return status;  // the destructor removes what was made
  lab->hosts_file_dir_ = "/etc/netns/" + lab->client_;
  lab->shared_name_ = shared_name;
  ::mkdir("/etc/netns", 0755);
  if (::mkdir(lab->hosts_file_dir_.c_str(), 0755) != 0) {
    return absl::FailedPreconditionError("cannot make " + lab->hosts_file_dir_);
  }
  SOCKRPC_RETURN_IF_ERROR(lab->ListUnderSharedName(hosts));
  return lab;
}

absl::Status NetnsLab::ListUnderSharedName(int count) {
  std::string hosts_file = "127.0.0.1 localhost\n";
  for (int i = 0; i < count && i < static_cast<int>(hosts_.size()); ++i) {
    absl::StrAppend(&hosts_file, HostAddress(i), " ", shared_name_, "\n");
  }
  // Rewritten in place: `ip netns exec` bind-mounts this very file.
  std::ofstream file(hosts_file_dir_ + "/hosts", std::ios::trunc);
  file << hosts_file;
  file.close();
  return file.fail() ? absl::InternalError("cannot write the hosts file")
                     : absl::OkStatus();
}

NetnsLab::~NetnsLab() {
  for (const std::string& host : hosts_) (void)Ip({"netns", "del", host});
  if (!client_.empty()) (void)Ip({"netns", "del", client_});
  if (!hosts_file_dir_.empty()) {
    ::unlink((hosts_file_dir_ + "/hosts").c_str());
    ::rmdir(hosts_file_dir_.c_str());
  }
}

absl::Status NetnsLab::SetLinkUp(int i, bool up) {
  return Ip({"-n", client_, "link", "set", absl::StrCat("h", i + 1),
             up ? "up" : "down"});
}

absl::Status NetnsLab::DropPackets(int i, bool drop) {
  const std::string& host = hosts_[i];
  if (drop) {
    // netem on both ends' egress drops both directions.
    absl::Status host_side =
        Run(host, "/usr/sbin/tc",
            {"qdisc", "add", "dev", "eth0", "root", "netem", "loss", "100%"});
    netem_ = host_side.ok();
    if (netem_) {
      drop_method_ = "tc netem loss 100%";
      return Run(client_, "/usr/sbin/tc",
                 {"qdisc", "add", "dev", absl::StrCat("h", i + 1), "root",
                  "netem", "loss", "100%"});
    }
    drop_method_ = absl::StrCat(
        "iptables DROP in the host's namespace (this kernel has no netem: ",
        host_side.message(), ")");
    absl::Status in =
        Run(host, "/usr/sbin/iptables", {"-A", "INPUT", "-j", "DROP"});
    if (!in.ok()) return in;
    return Run(host, "/usr/sbin/iptables", {"-A", "OUTPUT", "-j", "DROP"});
  }
  if (netem_) {
    absl::Status host_side =
        Run(host, "/usr/sbin/tc", {"qdisc", "del", "dev", "eth0", "root"});
    absl::Status client_side =
        Run(client_, "/usr/sbin/tc",
            {"qdisc", "del", "dev", absl::StrCat("h", i + 1), "root"});
    return host_side.ok() ? client_side : host_side;
  }
  return Run(host, "/usr/sbin/iptables", {"-F"});
}

}  // namespace testing
}  // namespace sockrpc
