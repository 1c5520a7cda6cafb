#include "server/server.h"

#include "server/server_runtime.h"

namespace sockrpc {

Server::Server(ServerOptions options)
    : impl_(std::make_unique<ServerRuntime>(std::move(options))) {}

Server::~Server() = default;

absl::Status Server::RegisterService(Service* service) {
  return impl_->RegisterService(service);
}

absl::StatusOr<std::string> Server::Listen(absl::string_view address) {
  return impl_->Listen(address);
}

absl::Status Server::Start() { return impl_->Start(); }

absl::StatusOr<Fd> Server::ConnectInProcess() {
  return impl_->ConnectInProcess();
}

void Server::Shutdown(absl::Time deadline) { impl_->Shutdown(deadline); }

void Server::Wait() { impl_->Wait(); }

HealthService* Server::health() { return impl_->health(); }

}  // namespace sockrpc
