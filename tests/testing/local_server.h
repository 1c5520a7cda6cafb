// LocalServer: a Server running in the test's own process, serving on a
// unix socket in a directory of its own: the one way in-process fixtures
// start a server. Test-only.
//
// The destructor shuts the server down with a short grace, unless the
// test did already (Server::Shutdown() may be called more than once), then
// removes the directory.
//
// Thread-safe as Server is.
#ifndef SOCKRPC_TESTS_TESTING_LOCAL_SERVER_H_
#define SOCKRPC_TESTS_TESTING_LOCAL_SERVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "server/server.h"
#include "server/service.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {

class LocalServer {
 public:
  // Registers `services` (borrowed: they must outlive the server), listens
  // on a fresh socket file and starts serving.
  static absl::StatusOr<std::unique_ptr<LocalServer>> Start(
      const std::vector<Service*>& services,
      ServerOptions options = ServerOptions()) {
    std::unique_ptr<LocalServer> local(new LocalServer(std::move(options)));
    for (Service* service : services) {
      absl::Status registered = local->server_.RegisterService(service);
      if (!registered.ok()) return registered;
    }
    absl::StatusOr<std::string> address =
        local->server_.Listen(absl::StrCat("unix:", local->dir_.File("s")));
    if (!address.ok()) return address.status();
    local->address_ = *std::move(address);
    absl::Status started = local->server_.Start();
    if (!started.ok()) return started;
    return local;
  }

  ~LocalServer() { server_.Shutdown(absl::Now() + absl::Seconds(5)); }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  Server& server() { return server_; }
  // The address it serves, "unix:/tmp/sockrpc-XXXXXX/s".
  const std::string& address() const { return address_; }

  // A new channel to the server.
  absl::StatusOr<std::shared_ptr<Channel>> NewChannel(
      const ChannelOptions& options = ChannelOptions()) const {
    return CreateChannel(address_, options);
  }

 private:
  explicit LocalServer(ServerOptions options) : server_(std::move(options)) {}

  TempDir dir_;  // outlives server_, which removes its socket file
  Server server_;
  std::string address_;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_LOCAL_SERVER_H_
