// EventsService: bench_server's implementation of events.proto's Events,
// through the callback API (server/server_callback.h). Internal to bench/.
//
// Subscribe calls wait in a hub, holding no thread; Publish starts one
// write on each of them and returns. Block is the one blocking method: it
// holds a handler-pool thread until its call is cancelled, Release() is
// called or 60 s pass, so that the open-streams benchmarks can fill the
// pool. Stats counts all of it.
//
// Thread-safe: the server calls every method and reaction from its
// threads at once.
#ifndef SOCKRPC_BENCH_EVENTS_SERVICE_H_
#define SOCKRPC_BENCH_EVENTS_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "events.sockrpc.pb.h"
#include "server/server_callback.h"
#include "transport/sync.h"

namespace sockrpc {
namespace bench {

class Subscriber;

// Hub: the open Subscribe calls, in an intrusive list (adding and removing
// one is O(1) and allocates nothing, so 100,000 calls that all end at once
// cost 100,000 steps).
class Hub {
 public:
  Hub() = default;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Links `subscriber`, which must stay alive until Remove() returns true.
  void Add(Subscriber* subscriber);
  // Unlinks `subscriber`; false if it was not linked.
  bool Remove(Subscriber* subscriber);
  // Starts a write of `event` on every linked subscriber (under the lock:
  // StartWrite() runs no reaction, and no subscriber can be unlinked and
  // deleted meanwhile). Returns how many.
  uint32_t Publish(const Event& event);
  uint32_t size();

 private:
  Mutex mu_;
  Subscriber* first_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint32_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

class EventsService final : public Events::CallbackService {
 public:
  // Each method is served in one form; the other stays the base class's.
  using Events::CallbackService::Block;
  using Events::CallbackService::Publish;
  using Events::CallbackService::Release;
  using Events::CallbackService::Stats;
  using Events::CallbackService::Subscribe;

  EventsService() = default;

  ServerWriteReactor<Event>* Subscribe(
      CallbackServerContext* context, const SubscribeRequest* request) override;
  ServerUnaryReactor* Publish(CallbackServerContext* context,
                              const Event* request,
                              PublishReply* reply) override;
  absl::Status Block(ServerContext* context, const BlockRequest& request,
                     BlockReply* reply) override;
  ServerUnaryReactor* Release(CallbackServerContext* context,
                              const ReleaseRequest* request,
                              ReleaseReply* reply) override;
  ServerUnaryReactor* Stats(CallbackServerContext* context,
                            const StatsRequest* request,
                            StatsReply* reply) override;

 private:
  struct TagCounts {
    uint32_t started = 0;
    uint32_t finished = 0;
  };

  Hub hub_;
  // Set for good by Release(): Block handlers return at once.
  std::atomic<bool> released_{false};
  Mutex mu_;
  uint32_t running_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t started_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t finished_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, TagCounts> tags_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_EVENTS_SERVICE_H_
