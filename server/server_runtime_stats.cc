// ServerRuntime's side of the live stats (server/server_stats.h,
// server/stats_service.h): registering the stats service, making a
// MethodStats per method at Start(), and the open connections' snapshot
// the service reports.
#include <algorithm>
#include <memory>
#include <vector>

#include "server/server_runtime.h"  // IWYU pragma: associated
#include "server/stats_service.h"

namespace sockrpc {

absl::Status ServerRuntime::RegisterStats() {
  if (!options_.enable_stats_service) return absl::OkStatus();
  Service* service = nullptr;
  {
    MutexLock lock(&mu_);
    if (state_ != State::kIdle || stats_service_ != nullptr ||
        services_.contains(stats::v1::Stats::kServiceName)) {
      return absl::OkStatus();
    }
    stats_service_ = std::make_unique<StatsService>(this);
    service = stats_service_.get();
  }
  return RegisterService(service);
}

void ServerRuntime::StartStats() {
  if (!options_.enable_stats_service) return;
  MutexLock lock(&mu_);
  if (stats_ != nullptr) return;  // a second Start()
  stats_ = std::make_unique<ServerStats>();
  std::vector<RegisteredMethod*> by_name;
  for (auto& [name, registered] : methods_) by_name.push_back(&registered);
  std::sort(by_name.begin(), by_name.end(),
            [](const RegisteredMethod* a, const RegisteredMethod* b) {
              return a->method->full_name < b->method->full_name;
            });
  for (RegisteredMethod* registered : by_name) {
    registered->stats = stats_->AddMethod(*registered->method);
  }
}

ConnectionsSnapshot ServerRuntime::SnapshotConnections(size_t limit) const {
  std::vector<std::shared_ptr<ServerConnection>> open;
  ConnectionsSnapshot snapshot;
  {
    MutexLock lock(&mu_);
    open.reserve(connections_.size());
    for (const auto& [tag, connection] : connections_) {
      open.push_back(connection);
    }
    // The open ones' bytes are read under mu_ too, so that a connection
    // closing meanwhile (its bytes move to the closed ones' total under
    // mu_) is counted once.
    for (const auto& connection : open) {
      snapshot.bytes_received += connection->bytes_received();
      snapshot.bytes_sent += connection->bytes_sent();
    }
  }
  snapshot.open = open.size();
  std::sort(open.begin(), open.end(),
            [](const auto& a, const auto& b) { return a->tag() < b->tag(); });
  if (open.size() > limit) open.resize(limit);
  for (const auto& connection : open) {
    snapshot.listed.push_back(connection->Snapshot());
  }
  return snapshot;
}

}  // namespace sockrpc
