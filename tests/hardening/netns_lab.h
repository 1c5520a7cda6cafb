// NetnsLab: a few network namespaces that stand in for hosts, made by a
// test and removed after it: one client namespace and N host namespaces,
// each host joined to the client by its own veth pair (the client's end
// "hI" at 10.77.I.1/24, the host's "eth0" at 10.77.I.2/24, I from 1), only
// loopback and those addresses. In the client namespace a name resolves
// to every host: /etc/netns/<client>/hosts, which `ip netns exec` puts in
// place of /etc/hosts, lists each host's address under that name.
//
// Programs run in a namespace through `ip netns exec` (which then execs
// them: the child process is the program). Faults: a host's link set down,
// or all its packets dropped (tc netem loss 100%, or where the kernel has
// no netem, iptables DROP rules in the host's namespace, which drop the
// same packets).
//
// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; Create() says
// FAILED_PRECONDITION, with the reason, where the kernel or the
// environment forbids namespaces (a test then skips).
#ifndef SOCKRPC_TESTS_HARDENING_NETNS_LAB_H_
#define SOCKRPC_TESTS_HARDENING_NETNS_LAB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace sockrpc {
namespace testing {

class NetnsLab {
 public:
  static absl::StatusOr<std::unique_ptr<NetnsLab>> Create(
      int hosts, const std::string& shared_name);
  // Removes the namespaces (their links go with them) and the hosts file.
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  const std::string& client_namespace() const { return client_; }
  // Host `i` (from 0): its namespace and address.
  const std::string& host_namespace(int i) const { return hosts_[i]; }
  static std::string HostAddress(int i);

  // Starts `binary` with `args` in namespace `ns`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> StartIn(
      const std::string& ns, const std::string& binary,
      const std::vector<std::string>& args);
  // Runs it there to completion (bounded by `timeout`).
  static absl::StatusOr<ProgramRun> RunIn(const std::string& ns,
                                          const std::string& binary,
                                          const std::vector<std::string>& args,
                                          absl::Duration timeout);

  // The shared name resolves to the first `count` hosts from now on (all
  // of them at first).
  absl::Status ListUnderSharedName(int count);

  // Host `i`'s link (the client's end) down or up again.
  absl::Status SetLinkUp(int i, bool up);
  // Every packet to and from host `i` dropped, or not any more.
  absl::Status DropPackets(int i, bool drop);
  // How DropPackets() drops them: "tc netem loss 100%" or the iptables
  // fallback (set by the first DropPackets(i, true)).
  const std::string& drop_method() const { return drop_method_; }

 private:
  NetnsLab() = default;
  // Runs `ip ARGS`; the error carries its output.
  static absl::Status Ip(const std::vector<std::string>& args);
  static absl::Status Run(const std::string& ns, const std::string& binary,
                          const std::vector<std::string>& args);

  std::string client_;
  std::vector<std::string> hosts_;
  std::string hosts_file_dir_;  // /etc/netns/<client>
  std::string shared_name_;
  std::string drop_method_;
  bool netem_ = false;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_HARDENING_NETNS_LAB_H_
