#include "client/channel.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/client_connection.h"
#include "transport/socket.h"
#include "transport/status_macros.h"

namespace sockrpc {

struct Channel::State {
  absl::Mutex mu;
  // The connection new calls use; null before the first call.
  std::shared_ptr<ClientConnection> connection ABSL_GUARDED_BY(mu);
};

Channel::Channel(Address address, ChannelOptions options)
    : address_(std::move(address)),
      options_(std::move(options)),
      state_(std::make_unique<State>()) {}

Channel::~Channel() = default;

absl::StatusOr<std::shared_ptr<ClientConnection>> Channel::GetConnection(
    absl::Time deadline) {
  absl::MutexLock lock(&state_->mu);
  std::shared_ptr<ClientConnection>& connection = state_->connection;
  if (connection != nullptr && connection->usable() &&
      (address_.is_unix() || !connection->PeerClosedWhileIdle())) {
    return connection;
  }
  connection.reset();
  absl::Time connect_deadline =
      std::min(deadline, absl::Now() + options_.connect_timeout);
  absl::StatusOr<Fd> fd = Connect(address_, connect_deadline);
  if (!fd.ok()) {
    if (absl::IsDeadlineExceeded(fd.status()) && connect_deadline == deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "deadline exceeded while connecting to ", address_.ToString()));
    }
    if (absl::IsUnavailable(fd.status())) return fd.status();
    return absl::UnavailableError(fd.status().message());
  }
  connection =
      std::make_shared<ClientConnection>(*std::move(fd), address_, options_);
  return connection;
}

absl::Status Channel::CallUnary(ClientContext* context,
                                absl::string_view method,
                                const google::protobuf::MessageLite& request,
                                google::protobuf::MessageLite* reply) {
  const absl::Time deadline =
      context != nullptr ? context->deadline() : absl::InfiniteFuture();
  if (deadline <= absl::Now()) {
    return absl::DeadlineExceededError(
        "deadline exceeded before the call started");
  }
  // A call the server certainly never saw is retried once, on a fresh
  // connection (the old one was closed, e.g. by a server restart).
  for (int attempt = 0;; ++attempt) {
    SOCKRPC_ASSIGN_OR_RETURN(std::shared_ptr<ClientConnection> connection,
                             GetConnection(deadline));
    ClientConnection::CallResult result =
        connection->CallUnary(context, method, request, reply, deadline);
    if (!result.retryable || attempt == 1) return result.status;
  }
}

absl::StatusOr<std::shared_ptr<Channel>> CreateChannel(
    absl::string_view target, const ChannelOptions& options) {
  SOCKRPC_ASSIGN_OR_RETURN(Address address, ParseAddress(target));
  return std::make_shared<Channel>(std::move(address), options);
}

}  // namespace sockrpc
