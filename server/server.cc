#include "server/server.h"

#include "absl/strings/str_cat.h"
#include "server/server_runtime.h"
#include "transport/fork_generation.h"

namespace sockrpc {

Server::Server(ServerOptions options)
    : impl_(std::make_unique<ServerRuntime>(std::move(options))),
      fork_generation_(WatchForks()) {}

Server::~Server() = default;

absl::Status Server::RegisterService(Service* service) {
  return impl_->RegisterService(service);
}

absl::StatusOr<std::string> Server::Listen(absl::string_view address) {
  return impl_->Listen(address);
}

absl::Status Server::Start() { return impl_->Start(); }

absl::StatusOr<Fd> Server::ConnectInProcess() {
  if (ForkGeneration() != fork_generation_) {
    // The server's threads, locks and epoll instance are the parent's.
    return absl::FailedPreconditionError(
        "in-process connection refused: the server belongs to the parent "
        "process, and this is a child made by fork(); a child must not use "
        "its parent's Server");
  }
  return impl_->ConnectInProcess();
}

void Server::Shutdown(absl::Time deadline) { impl_->Shutdown(deadline); }

void Server::Wait() { impl_->Wait(); }

HealthService* Server::health() { return impl_->health(); }

}  // namespace sockrpc
