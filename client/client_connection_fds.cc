// ClientConnection's side of file descriptor passing (PROTOCOL.md section
// 16): learning whether the server takes descriptors (its SETTINGS), the
// FDS frame announcing them, sending frames with descriptors attached, and
// handing received ones to the call's context. See client/client_connection.h.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client_connection.h"
#include "sockrpc/wire.pb.h"
#include "transport/fd_fields.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// A PING asking for the server's first frame, which says whether it takes
// descriptors: every server answers a PING, after its SETTINGS if it sends
// any.
std::string SettingsPing() {
  std::string ping;
  AppendRawFrame(&ping, FrameType::kPing, 0, 0, std::string(8, '\0'));
  return ping;
}

}  // namespace

absl::Status ClientConnection::ServerAcceptsFds(size_t count,
                                                absl::Time deadline) {
  if (unix_ && !server_settings_known_.load(std::memory_order_acquire)) {
    // One PING per connection, as AskForSettings(): callers that come
    // while it is out wait for the same answer (and a server takes only a
    // few PINGs in a row, ServerOptions::min_time_between_pings).
    if (!settings_asked_.exchange(true, std::memory_order_relaxed)) {
      bool sent_nothing;
      absl::Status sent = WriteFrames(SettingsPing(), deadline, &sent_nothing);
      if (!sent.ok()) {
        if (sent_nothing)
          settings_asked_.store(false, std::memory_order_relaxed);
        return sent;
      }
    }
    MutexLock lock(&mu_);
    AwaitLocked(
        nullptr,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return server_settings_known_.load(std::memory_order_acquire) ||
                 !broken_.ok();
        },
        deadline);
    if (!server_settings_known_.load(std::memory_order_acquire)) {
      return broken_.ok() ? absl::DeadlineExceededError(absl::StrCat(
                                "deadline exceeded waiting for ", target_,
                                " to say whether it takes file descriptors"))
                          : Unshared(broken_);
    }
  }
  return FdsRefusedIfKnown(count);
}

absl::Status ClientConnection::FdsRefusedIfKnown(size_t count) const {
  if (!unix_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request not sent: file descriptors pass only over unix sockets (",
        target_, " is not one)"));
  }
  if (!server_settings_known_.load(std::memory_order_acquire)) {
    return absl::OkStatus();
  }
  const uint32_t accepted = server_max_fds_.load(std::memory_order_relaxed);
  if (accepted == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("request not sent: the server at ", target_,
                     " accepts no file descriptors"));
  }
  if (count > accepted) {
    return absl::FailedPreconditionError(
        absl::StrCat("request not sent: ", count,
                     " file descriptors in one message, but the server at ",
                     target_, " accepts at most ", accepted));
  }
  return absl::OkStatus();
}

// ---- Callback calls: never waiting for the server's SETTINGS ----

bool ClientConnection::AwaitSettingsLocked(ClientCallState* stream) {
  if (server_settings_known_.load(std::memory_order_acquire)) return false;
  if (!stream->awaiting_settings_) {
    stream->awaiting_settings_ = true;
    awaiting_settings_.push_back(stream);
  }
  return true;
}

void ClientConnection::AskForSettings() {
  // One per connection is enough: its answer, or any frame before it,
  // settles the question for every call.
  if (settings_asked_.exchange(true, std::memory_order_relaxed)) return;
  SendNoWait(SettingsPing());
}

void ClientConnection::NoteSettingsKnown() {
  server_settings_known_.store(true, std::memory_order_release);
  MutexLock lock(&mu_);
  for (ClientCallState* stream : awaiting_settings_) {
    stream->awaiting_settings_ = false;
    NotifyLocked(*stream);
  }
  awaiting_settings_.clear();
}

void ClientConnection::ForgetAwaitingLocked(ClientCallState& stream) {
  stream.awaiting_settings_ = false;
  awaiting_settings_.erase(
      std::find(awaiting_settings_.begin(), awaiting_settings_.end(), &stream));
}

bool ClientConnection::OpenWithFdsNoWait(
    const std::shared_ptr<ClientCallState>& stream,
    google::protobuf::MessageLite* unary_reply, PendingOpen pending) {
  bool waits;
  {
    MutexLock lock(&mu_);
    if (stream->done_) return false;  // cancelled before it started
    stream->direct_reply_ = unary_reply;
    waits = AwaitSettingsLocked(stream.get());
    if (waits) {
      stream->pending_open_ = std::make_unique<PendingOpen>(std::move(pending));
    }
  }
  if (waits) {
    AskForSettings();
  } else {
    SendPendingOpen(stream, std::move(pending));
  }
  return false;
}

void ClientConnection::ResumeOpen(
    const std::shared_ptr<ClientCallState>& stream) {
  std::unique_ptr<PendingOpen> pending;
  {
    MutexLock lock(&mu_);
    if (stream->pending_open_ == nullptr ||
        !server_settings_known_.load(std::memory_order_acquire)) {
      return;
    }
    pending = std::move(stream->pending_open_);
  }
  SendPendingOpen(stream, std::move(*pending));
}

void ClientConnection::SendPendingOpen(
    const std::shared_ptr<ClientCallState>& stream, PendingOpen pending) {
  absl::Status refused = FdsRefusedIfKnown(pending.fds.size());
  absl::Status sent;
  bool held = false;
  {
    MutexLock write_lock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (stream->done_) return;  // cancelled meanwhile
      if (!refused.ok()) {
        EndStreamLocked(*stream, refused);  // nothing of it was sent
        return;
      }
      const size_t request_payload =
          pending.frames.size() - pending.message_offset - kFrameHeaderSize;
      if (!AdmitStreamLocked(stream, true, request_payload)) return;
    }
    // Ids rise on the wire: this one is written now, under write_mu_.
    for (size_t offset :
         {size_t{0}, pending.fds_offset, pending.message_offset}) {
      PatchStreamId(&pending.frames[offset], stream->id_);
    }
    size_t written = 0;
    sent = out_.WriteNoWaitWithFds(pending.frames, pending.fds_offset,
                                   std::move(pending.fds), &written);
    held = !out_.held_empty();
  }
  AfterNoWaitWrite(sent, held);
}

ClientConnection::WriteOutcome ClientConnection::WriteWithFdsNoWait(
    ClientCallState& stream, std::string* frames, size_t message_offset,
    std::vector<Fd>* fds) {
  bool waits;
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return WriteOutcome::kEnded;
    waits = AwaitSettingsLocked(&stream);
  }
  if (waits) {
    AskForSettings();
    return WriteOutcome::kAwaitingSettings;  // `*fds` kept for the retry
  }
  // The server's SETTINGS are final now.
  const absl::Status refused = FdsRefusedIfKnown(fds->size());
  if (!refused.ok()) {
    Cancel(stream, refused);  // nothing of the message is sent
    return WriteOutcome::kEnded;
  }
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return WriteOutcome::kEnded;
    if (stream.send_window_ <= 0) return WriteOutcome::kNoWindow;
    stream.send_window_ -= static_cast<int64_t>(
        frames->size() - message_offset - kFrameHeaderSize);
  }
  PatchStreamId(&(*frames)[0], stream.id_);
  PatchStreamId(&(*frames)[message_offset], stream.id_);
  absl::Status sent;
  bool held;
  {
    MutexLock write_lock(&write_mu_);
    size_t written;
    sent = out_.WriteNoWaitWithFds(*frames, 0, std::move(*fds), &written);
    held = !out_.held_empty();
  }
  AfterNoWaitWrite(sent, held);
  return WriteOutcome::kSent;
}

std::vector<int> ClientConnection::RawFds(const std::vector<Fd>& fds) {
  std::vector<int> raw;
  raw.reserve(fds.size());
  for (const Fd& fd : fds) raw.push_back(fd.get());
  return raw;
}

absl::Status ClientConnection::WriteFramesWithFds(absl::string_view bytes,
                                                  const std::vector<Fd>& fds,
                                                  absl::Time deadline) {
  MutexLock write_lock(&write_mu_);
  size_t written = 0;
  absl::Status sent =
      out_.WriteAllWithFds(bytes, 0, RawFds(fds), deadline, &written);
  if (!sent.ok()) {
    if (absl::IsDeadlineExceeded(sent)) {
      failed_by_own_call_.store(true, std::memory_order_release);
    }
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
  return sent;
}

absl::Status ClientConnection::AcceptReplyFds(
    ClientCallState& stream, const google::protobuf::MessageLite& reply,
    std::vector<Fd> fds) {
  ClientContext* context = stream.context();
  if (ABSL_PREDICT_TRUE(fds.empty() && (context == nullptr ||
                                        context->fds_.received() == 0))) {
    return absl::OkStatus();
  }
  if (!fds.empty()) {
    absl::Status matched = MatchFdFields(reply, &fds);
    if (!matched.ok()) return matched;  // `fds` are closed here
  }
  if (context != nullptr) context->fds_.Received(std::move(fds));
  return absl::OkStatus();
}

}  // namespace sockrpc
