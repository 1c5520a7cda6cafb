#include "server/health_service.h"

#include <map>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "transport/sync.h"

namespace sockrpc {
namespace {

using health::v1::HealthCheckRequest;
using health::v1::HealthCheckResponse;
using WireStatus = HealthCheckResponse::ServingStatus;

WireStatus ToWire(ServingStatus status) {
  return status == ServingStatus::kServing ? HealthCheckResponse::SERVING
                                           : HealthCheckResponse::NOT_SERVING;
}

absl::Status ShuttingDown() {
  return absl::UnavailableError("server shutting down");
}

}  // namespace

// The reactor of one Watch call. It sends at most one status at a time;
// a change that comes while one is in flight replaces the one waiting
// (next_), so it holds at most two statuses whatever the client reads.
// Every field but the constants is guarded by state_->mu.
class HealthService::Watcher final
    : public ServerWriteReactor<HealthCheckResponse> {
 public:
  // `state` must outlive the reactor (the service outlives its calls).
  Watcher(State* state, std::string service)
      : state_(state), service_(std::move(service)) {}

  const std::string& service() const { return service_; }

  // Sends `status` if it differs from the last status sent, now if no
  // write is in flight, else once it is done (unless changed again).
  void OfferLocked(WireStatus status);
  // Sends NOT_SERVING (unless it was the last status sent) and finishes
  // the call with UNAVAILABLE: the server is shutting down.
  void EndLocked();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void SendLocked(WireStatus status);
  // Finishes the call once; false if it was finished already.
  bool FinishOnceLocked(absl::Status status);

  State* const state_;
  const std::string service_;
  std::optional<WireStatus> last_sent_;
  std::optional<WireStatus> next_;
  bool in_flight_ = false;
  bool finished_ = false;
};

struct HealthService::State {
  // The status sent to watchers of `service`.
  WireStatus WireStatusLocked(absl::string_view service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = statuses.find(service);
    return it == statuses.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                                : ToWire(it->second);
  }

  // Sets `service` to `status` (nothing: forgets it) and tells its
  // watchers.
  void UpdateLocked(absl::string_view service,
                    std::optional<ServingStatus> status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (status.has_value()) {
      auto it = statuses.find(service);
      if (it == statuses.end()) {
        statuses.emplace(std::string(service), *status);
      } else {
        it->second = *status;
      }
    } else {
      auto it = statuses.find(service);
      if (it != statuses.end()) statuses.erase(it);
    }
    auto watching = watchers.find(service);
    if (watching == watchers.end()) return;
    const WireStatus wire = WireStatusLocked(service);
    for (Watcher* watcher : watching->second) watcher->OfferLocked(wire);
  }

  mutable Mutex mu;
  std::map<std::string, ServingStatus, std::less<>> statuses
      ABSL_GUARDED_BY(mu);
  // Open Watch calls by the name they watch; a Watcher leaves in OnDone().
  std::map<std::string, std::set<Watcher*>, std::less<>> watchers
      ABSL_GUARDED_BY(mu);
  bool shutting_down ABSL_GUARDED_BY(mu) = false;
};

void HealthService::Watcher::SendLocked(WireStatus status) {
  HealthCheckResponse response;
  response.set_status(status);
  StartWrite(&response);  // serialized now; never runs a reaction
  last_sent_ = status;
  in_flight_ = true;
}

bool HealthService::Watcher::FinishOnceLocked(absl::Status status) {
  if (finished_) return false;
  finished_ = true;
  next_.reset();
  Finish(std::move(status));
  return true;
}

void HealthService::Watcher::OfferLocked(WireStatus status) {
  if (finished_) return;
  if (in_flight_) {
    next_ = status;
  } else if (last_sent_ != status) {
    SendLocked(status);
  }
}

void HealthService::Watcher::EndLocked() {
  if (finished_) return;
  // A write may be in flight: this one queues behind it, and STATUS
  // behind both.
  if (last_sent_ != HealthCheckResponse::NOT_SERVING) {
    SendLocked(HealthCheckResponse::NOT_SERVING);
  }
  FinishOnceLocked(ShuttingDown());
}

void HealthService::Watcher::OnWriteDone(bool ok) {
  MutexLock lock(&state_->mu);
  in_flight_ = false;
  if (finished_) return;
  if (!ok) {  // the call ended: the client went away
    FinishOnceLocked(absl::CancelledError("watch ended"));
    return;
  }
  if (!next_.has_value()) return;
  WireStatus next = *next_;
  next_.reset();
  if (next != last_sent_) SendLocked(next);
}

void HealthService::Watcher::OnCancel() {
  MutexLock lock(&state_->mu);
  FinishOnceLocked(absl::CancelledError("watch cancelled"));
}

void HealthService::Watcher::OnDone() {
  {
    MutexLock lock(&state_->mu);
    auto watching = state_->watchers.find(service_);
    if (watching != state_->watchers.end()) {
      watching->second.erase(this);
      if (watching->second.empty()) state_->watchers.erase(watching);
    }
  }
  delete this;
}

HealthService::HealthService() : state_(std::make_unique<State>()) {}

HealthService::~HealthService() = default;

void HealthService::SetServingStatus(absl::string_view service,
                                     ServingStatus status) {
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) return;
  state_->UpdateLocked(service, status);
}

void HealthService::SetServingStatus(absl::string_view service, bool serving) {
  SetServingStatus(
      service, serving ? ServingStatus::kServing : ServingStatus::kNotServing);
}

void HealthService::SetServingStatus(bool serving) {
  const ServingStatus status =
      serving ? ServingStatus::kServing : ServingStatus::kNotServing;
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) return;
  std::vector<std::string> names = {""};
  for (const auto& [name, unused] : state_->statuses) names.push_back(name);
  for (const std::string& name : names) state_->UpdateLocked(name, status);
}

void HealthService::ClearServingStatus(absl::string_view service) {
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) return;
  state_->UpdateLocked(service, std::nullopt);
}

std::optional<ServingStatus> HealthService::GetServingStatus(
    absl::string_view service) const {
  MutexLock lock(&state_->mu);
  auto it = state_->statuses.find(service);
  if (it == state_->statuses.end()) return std::nullopt;
  return it->second;
}

void HealthService::Start(const std::vector<std::string>& services) {
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) return;
  std::vector<std::string> names = services;
  names.push_back("");
  for (const std::string& name : names) {
    if (state_->statuses.count(name) == 0) {
      state_->UpdateLocked(name, ServingStatus::kServing);
    }
  }
}

void HealthService::Shutdown() {
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) return;
  state_->shutting_down = true;
  for (auto& [name, status] : state_->statuses) {
    status = ServingStatus::kNotServing;
  }
  // Each Watcher leaves the map only in OnDone(), which cannot run while
  // this holds the lock.
  for (const auto& [name, watchers] : state_->watchers) {
    for (Watcher* watcher : watchers) watcher->EndLocked();
  }
}

ServerUnaryReactor* HealthService::Check(CallbackServerContext* context,
                                         const HealthCheckRequest* request,
                                         HealthCheckResponse* reply) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status;
  {
    MutexLock lock(&state_->mu);
    auto it = state_->statuses.find(request->service());
    if (it == state_->statuses.end()) {
      status = absl::NotFoundError(
          absl::StrCat("unknown service \"", request->service(), "\""));
    } else {
      reply->set_status(ToWire(it->second));
    }
  }
  reactor->Finish(std::move(status));
  return reactor;
}

ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(state_.get(), request->service());
  MutexLock lock(&state_->mu);
  if (state_->shutting_down) {
    watcher->EndLocked();
  } else {
    state_->watchers[watcher->service()].insert(watcher);
    watcher->OfferLocked(state_->WireStatusLocked(watcher->service()));
  }
  return watcher;
}

}  // namespace sockrpc
