#include "transport/socket_activation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "transport/posix_error.h"
#include "transport/status_macros.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

// sd_listen_fds(3): passed descriptors start here.
constexpr int kFirstPassedFd = 3;

// One passed descriptor: held until taken (then `fd` is invalid).
struct Entry {
  int number = -1;
  std::string name;
  Fd fd;
  bool taken = false;
};

// The process's passed sockets, read from the environment once.
struct Table {
  Mutex mu;
  bool read ABSL_GUARDED_BY(mu) = false;
  // Why the environment gave no sockets (OK once sockets were read).
  absl::Status error ABSL_GUARDED_BY(mu);
  std::vector<Entry> entries ABSL_GUARDED_BY(mu);
};

// Never destroyed: sockets nobody took stay open for the process's life.
Table& PassedTable() {
  static Table* const table = new Table;
  return *table;
}

// Reads LISTEN_* (see the header) into `table` and unsets them.
void ReadEnvironment(Table* table) ABSL_EXCLUSIVE_LOCKS_REQUIRED(table->mu) {
  table->read = true;
  const char* pid_text = getenv("LISTEN_PID");
  const char* fds_text = getenv("LISTEN_FDS");
  const char* names_text = getenv("LISTEN_FDNAMES");
  if (fds_text == nullptr) {
    table->error = absl::FailedPreconditionError(
        "no sockets passed by systemd (LISTEN_FDS is not set)");
    return;
  }
  const std::string pid_value = pid_text == nullptr ? "" : pid_text;
  const std::string fds_value = fds_text;
  const std::string names_value = names_text == nullptr ? "" : names_text;
  int64_t pid = 0;
  if (!absl::SimpleAtoi(pid_value, &pid)) {
    table->error = absl::FailedPreconditionError(
        absl::StrCat("sockets passed by systemd, but LISTEN_PID is \"",
                     pid_value, "\", not a pid"));
    return;
  }
  if (pid != getpid()) {
    // Meant for another process (a parent that did not unset them): leave
    // the variables and descriptors alone.
    table->error = absl::FailedPreconditionError(
        absl::StrCat("sockets passed by systemd are for process ", pid,
                     " (LISTEN_PID), not this one (", getpid(), ")"));
    return;
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  int count = 0;
  if (!absl::SimpleAtoi(fds_value, &count) || count < 0 ||
      count > INT_MAX - kFirstPassedFd) {
    table->error = absl::FailedPreconditionError(
        absl::StrCat("LISTEN_FDS is \"", fds_value, "\", not a count"));
    return;
  }
  std::vector<std::string> names;
  if (names_text != nullptr) names = absl::StrSplit(names_value, ':');
  if (names_text != nullptr && static_cast<int>(names.size()) != count) {
    table->error = absl::FailedPreconditionError(
        absl::StrCat("LISTEN_FDNAMES \"", names_value, "\" has ", names.size(),
                     " names for ", count, " sockets (LISTEN_FDS)"));
    return;
  }
  for (int i = 0; i < count; ++i) {
    Entry entry;
    entry.number = kFirstPassedFd + i;
    entry.name = names_text != nullptr ? names[i] : "unknown";
    const int flags = fcntl(entry.number, F_GETFD);
    if (flags < 0) continue;  // closed since: nothing to hold
    (void)fcntl(entry.number, F_SETFD, flags | FD_CLOEXEC);
    entry.fd = Fd(entry.number);
    table->entries.push_back(std::move(entry));
  }
  if (table->entries.empty()) {
    table->error = absl::FailedPreconditionError(
        "no sockets passed by systemd (LISTEN_FDS is 0)");
  }
}

// OK if `fd` is a listening stream socket of a family we serve.
absl::Status CheckListening(const Entry& entry) {
  const std::string what = absl::StrCat("socket passed by systemd as fd ",
                                        entry.number, " (", entry.name, ")");
  int type = 0;
  int listening = 0;
  sockaddr_storage local{};
  socklen_t length = sizeof(type);
  if (getsockopt(entry.fd.get(), SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a socket: ", PosixError("", errno).message()));
  }
  if (type != SOCK_STREAM) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a stream socket (ListenStream= is needed, not ",
        type == SOCK_DGRAM ? "ListenDatagram=" : "another type", ")"));
  }
  length = sizeof(listening);
  if (getsockopt(entry.fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening,
                 &length) != 0 ||
      listening == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not listening (a connection, as Accept=yes passes?)"));
  }
  length = sizeof(local);
  if (getsockname(entry.fd.get(), reinterpret_cast<sockaddr*>(&local),
                  &length) != 0 ||
      (local.ss_family != AF_UNIX && local.ss_family != AF_INET &&
       local.ss_family != AF_INET6)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a unix, IPv4 or IPv6 socket"));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<PassedSocketsAddress> ParsePassedSocketsAddress(
    absl::string_view text) {
  constexpr absl::string_view kScheme = "systemd:";
  if (text.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  return PassedSocketsAddress{std::string(text.substr(kScheme.size()))};
}

absl::StatusOr<std::vector<PassedSocket>> TakePassedSockets(
    const PassedSocketsAddress& address) {
  Table& table = PassedTable();
  MutexLock lock(&table.mu);
  if (!table.read) ReadEnvironment(&table);
  if (!table.error.ok()) return table.error;
  std::vector<Entry*> chosen;
  std::vector<std::string> names;
  for (Entry& entry : table.entries) {
    names.push_back(absl::StrCat(entry.name, " (fd ", entry.number, ")"));
    if (address.name.empty() || entry.name == address.name) {
      chosen.push_back(&entry);
    }
  }
  if (chosen.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no socket named \"", address.name,
        "\" passed by systemd; passed: ", absl::StrJoin(names, ", ")));
  }
  for (const Entry* entry : chosen) {
    if (entry->taken) {
      return absl::AlreadyExistsError(absl::StrCat(
          "socket passed by systemd as fd ", entry->number, " (", entry->name,
          ") is already in use by this process (listened on twice?)"));
    }
    SOCKRPC_RETURN_IF_ERROR(CheckListening(*entry));
  }
  std::vector<PassedSocket> taken;
  for (Entry* entry : chosen) {
    const int flags = fcntl(entry->fd.get(), F_GETFL);
    if (flags < 0 || fcntl(entry->fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      return PosixError(
          absl::StrCat("making passed fd ", entry->number, " non-blocking"),
          errno);
    }
  }
  for (Entry* entry : chosen) {
    entry->taken = true;
    taken.push_back(PassedSocket{std::move(entry->fd), entry->name});
  }
  return taken;
}

}  // namespace sockrpc
