#include "events_service.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sockrpc {
namespace bench {

// Subscriber: one open Subscribe call. It sends what the hub publishes and
// finishes only when cancelled (the client cancelled or left, or the
// server shuts down).
class Subscriber final : public ServerWriteReactor<Event> {
 public:
  explicit Subscriber(Hub* hub) : hub_(hub) { hub_->Add(this); }

  void OnCancel() override {
    // Once unlinked, no Publish() reaches this reactor any more.
    hub_->Remove(this);
    Finish(absl::CancelledError("cancelled"));
  }
  void OnDone() override { delete this; }

 private:
  friend class Hub;

  Hub* const hub_;
  // The hub's list; guarded by the hub's lock.
  Subscriber* prev_ = nullptr;
  Subscriber* next_ = nullptr;
  bool linked_ = false;
};

void Hub::Add(Subscriber* subscriber) {
  MutexLock lock(&mu_);
  subscriber->prev_ = nullptr;
  subscriber->next_ = first_;
  if (first_ != nullptr) first_->prev_ = subscriber;
  first_ = subscriber;
  subscriber->linked_ = true;
  ++size_;
}

bool Hub::Remove(Subscriber* subscriber) {
  MutexLock lock(&mu_);
  if (!subscriber->linked_) return false;
  if (subscriber->prev_ != nullptr) {
    subscriber->prev_->next_ = subscriber->next_;
  } else {
    first_ = subscriber->next_;
  }
  if (subscriber->next_ != nullptr) {
    subscriber->next_->prev_ = subscriber->prev_;
  }
  subscriber->linked_ = false;
  --size_;
  return true;
}

uint32_t Hub::Publish(const Event& event) {
  MutexLock lock(&mu_);
  for (Subscriber* s = first_; s != nullptr; s = s->next_) {
    s->StartWrite(&event);  // serialized now
  }
  return size_;
}

uint32_t Hub::size() {
  MutexLock lock(&mu_);
  return size_;
}

ServerWriteReactor<Event>* EventsService::Subscribe(
    CallbackServerContext* context, const SubscribeRequest* request) {
  return new Subscriber(&hub_);
}

ServerUnaryReactor* EventsService::Publish(CallbackServerContext* context,
                                           const Event* request,
                                           PublishReply* reply) {
  reply->set_subscribers(hub_.Publish(*request));
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(absl::OkStatus());
  return reactor;
}

absl::Status EventsService::Block(ServerContext* context,
                                  const BlockRequest& request,
                                  BlockReply* reply) {
  {
    MutexLock lock(&mu_);
    ++running_;
    ++started_;
    ++tags_[request.tag()].started;
  }
  // Cancellation wakes the wait at once; a release is seen within a
  // slice.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  bool cancelled = false;
  while (!released_.load(std::memory_order_acquire) && !cancelled &&
         absl::Now() < give_up) {
    cancelled =
        context->WaitForCancellation(absl::Now() + absl::Milliseconds(5));
  }
  {
    MutexLock lock(&mu_);
    --running_;
    ++finished_;
    ++tags_[request.tag()].finished;
  }
  return cancelled ? absl::CancelledError("cancelled") : absl::OkStatus();
}

ServerUnaryReactor* EventsService::Release(CallbackServerContext* context,
                                           const ReleaseRequest* request,
                                           ReleaseReply* reply) {
  released_.store(true, std::memory_order_release);
  {
    MutexLock lock(&mu_);
    reply->set_running(running_);
  }
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(absl::OkStatus());
  return reactor;
}

ServerUnaryReactor* EventsService::Stats(CallbackServerContext* context,
                                         const StatsRequest* request,
                                         StatsReply* reply) {
  reply->set_subscribers(hub_.size());
  {
    MutexLock lock(&mu_);
    reply->set_blocked_running(running_);
    reply->set_blocked_started(started_);
    reply->set_blocked_finished(finished_);
    auto it = tags_.find(request->tag());
    if (it != tags_.end()) {
      reply->set_tag_started(it->second.started);
      reply->set_tag_finished(it->second.finished);
    }
  }
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(absl::OkStatus());
  return reactor;
}

}  // namespace bench
}  // namespace sockrpc
