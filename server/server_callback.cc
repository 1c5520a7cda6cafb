// The reactor side of the callback API: operations a reactor starts before
// the runtime binds it to its call are kept, then replayed in order.
#include "server/server_callback.h"

#include <utility>

#include "transport/frame.h"

namespace sockrpc {
namespace internal {

void ServerReactorBase::Apply(ReactorCall* call, Started operation) {
  switch (operation.kind) {
    case Started::Kind::kInitialMetadata:
      call->StartSendInitialMetadata();
      break;
    case Started::Kind::kRead:
      call->StartRead(operation.read_target);
      break;
    case Started::Kind::kWrite:
      call->StartEncodedWrite(std::move(operation.frame), operation.options);
      break;
    case Started::Kind::kFinish:
      call->Finish(std::move(operation.status));
      break;
  }
}

ReactorCall* ServerReactorBase::BoundCall() {
  return call_.load(std::memory_order_acquire);
}

void ServerReactorBase::StartOrKeep(Started operation) {
  ReactorCall* call;
  {
    std::lock_guard<std::mutex> lock(backlog_mu_);
    call = call_.load(std::memory_order_acquire);
    if (call == nullptr) {
      backlog_.push_back(std::move(operation));
      return;
    }
  }
  Apply(call, std::move(operation));  // bound meanwhile
}

void ServerReactorBase::Bind(ReactorCall* call) {
  if (BoundCall() != nullptr) return;  // bound from the start
  // Replays under the lock, so that an operation started meanwhile on
  // another thread waits for the backlog and keeps its place after it.
  std::lock_guard<std::mutex> lock(backlog_mu_);
  if (call_.load(std::memory_order_relaxed) != nullptr) return;
  for (Started& operation : backlog_) {
    Apply(call, std::move(operation));
  }
  backlog_.clear();  // (frees what it allocated, if anything)
  call_.store(call, std::memory_order_release);
}

void ServerReactorBase::DoStartSendInitialMetadata() {
  if (ReactorCall* call = BoundCall()) {
    call->StartSendInitialMetadata();
    return;
  }
  Started operation;
  operation.kind = Started::Kind::kInitialMetadata;
  StartOrKeep(std::move(operation));
}

void ServerReactorBase::DoStartRead(google::protobuf::MessageLite* message) {
  if (ReactorCall* call = BoundCall()) {
    call->StartRead(message);
    return;
  }
  Started operation;
  operation.kind = Started::Kind::kRead;
  operation.read_target = message;
  StartOrKeep(std::move(operation));
}

void ServerReactorBase::DoStartWrite(
    const google::protobuf::MessageLite& message, WriteOptions options) {
  ReactorCall* call = BoundCall();
  if (call == nullptr) {
    std::lock_guard<std::mutex> lock(backlog_mu_);
    call = call_.load(std::memory_order_acquire);
    if (call == nullptr) {
      // Not bound yet (e.g. a write in the reactor's constructor): kept
      // encoded, as the reactor may reuse `message` once this returns.
      Started operation;
      operation.kind = Started::Kind::kWrite;
      operation.options = options;
      const size_t size = message.ByteSizeLong();
      operation.frame.assign(kFrameHeaderSize + size, '\0');
      message.SerializeWithCachedSizesToArray(
          reinterpret_cast<uint8_t*>(&operation.frame[kFrameHeaderSize]));
      backlog_.push_back(std::move(operation));
      return;
    }
  }
  call->StartWrite(message, options);
}

void ServerReactorBase::DoFinish(absl::Status status) {
  if (ReactorCall* call = BoundCall()) {
    call->Finish(std::move(status));
    return;
  }
  Started operation;
  operation.kind = Started::Kind::kFinish;
  operation.status = std::move(status);
  StartOrKeep(std::move(operation));
}

}  // namespace internal
}  // namespace sockrpc
