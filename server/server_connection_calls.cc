// A connection's table of calls in flight (calls_, under calls_mu_): found
// by stream id, ended once with their last frames, cancelled all at once
// when the connection goes.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/server_connection.h"
#include "server/server_runtime.h"

namespace sockrpc {

std::shared_ptr<ServerCallState> ServerConnection::FindCall(
    uint32_t stream_id) {
  MutexLock lock(&calls_mu_);
  const std::shared_ptr<ServerCallState>* call = calls_.Find(stream_id);
  return call == nullptr ? nullptr : *call;
}

void ServerConnection::RemoveCall(uint32_t stream_id) {
  std::shared_ptr<ServerCallState> call;
  {
    MutexLock lock(&calls_mu_);
    call = TakeCallLocked(stream_id);
  }
  ForgetDeadline(call.get());
}

void ServerConnection::FinishCall(uint32_t stream_id,
                                  std::string final_frames) {
  FinishCallWithFds(stream_id, std::move(final_frames), 0, {});
}

void ServerConnection::FinishCall(uint32_t stream_id,
                                  absl::string_view final_frames) {
  std::shared_ptr<ServerCallState> call;
  {
    MutexLock lock(&calls_mu_);  // as in FinishCallWithFds()
    SendCopy(final_frames);
    call = TakeCallLocked(stream_id);
  }
  ForgetDeadline(call.get());
}

void ServerConnection::FinishCallWithFds(uint32_t stream_id,
                                         std::string final_frames,
                                         size_t fds_offset,
                                         std::vector<Fd> fds) {
  std::shared_ptr<ServerCallState> call;
  {
    // calls_mu_ before write_mu_, as when a call is refused.
    MutexLock lock(&calls_mu_);
    if (ABSL_PREDICT_TRUE(fds.empty())) {
      Send(std::move(final_frames));
    } else {
      SendWithFds(std::move(final_frames), fds_offset, std::move(fds));
    }
    call = TakeCallLocked(stream_id);
  }
  ForgetDeadline(call.get());
}

void ServerConnection::ForgetDeadline(const ServerCallState* call) {
  if (call != nullptr && call->deadline() != absl::InfiniteFuture()) {
    runtime_->CancelDeadline(*call);
  }
}

std::shared_ptr<ServerCallState> ServerConnection::TakeCallLocked(
    uint32_t stream_id) {
  return calls_.Take(stream_id);
}

void ServerConnection::CancelAllCalls(const absl::Status& why,
                                      bool send_status) {
  std::vector<std::shared_ptr<ServerCallState>> calls;
  {
    MutexLock lock(&calls_mu_);
    calls.reserve(calls_.size());
    calls_.ForEach([&](uint32_t, const std::shared_ptr<ServerCallState>& call) {
      calls.push_back(call);
    });
  }
  for (const auto& call : calls) call->Cancel(why, send_status);
}

}  // namespace sockrpc
