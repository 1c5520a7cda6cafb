// ClientConnection's side of file descriptor passing (PROTOCOL.md section
// 16): learning whether the server takes descriptors (its SETTINGS), the
// FDS frame announcing them, sending frames with descriptors attached, and
// handing received ones to the call's context. See client/client_connection.h.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client_connection.h"
#include "sockrpc/wire.pb.h"
#include "transport/fd_fields.h"
#include "transport/wire_codec.h"

namespace sockrpc {

absl::Status ClientConnection::ServerAcceptsFds(size_t count,
                                                absl::Time deadline) {
  if (!unix_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request not sent: file descriptors pass only over unix sockets (",
        target_, " is not one)"));
  }
  if (!server_settings_known_.load(std::memory_order_acquire)) {
    // Whether the server takes descriptors is known at its first frame:
    // every server answers a PING, after its SETTINGS if it sends any.
    std::string ping;
    AppendRawFrame(&ping, FrameType::kPing, 0, 0, std::string(8, '\0'));
    bool sent_nothing;
    absl::Status sent = WriteFrames(ping, deadline, &sent_nothing);
    if (!sent.ok()) return sent;
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

absl::Status CallbackFdsUnsupported() {
  return absl::UnimplementedError(
      "file descriptors in the messages of a callback call are not "
      "supported yet; use the blocking or asynchronous API");
}

void ClientConnection::AppendFdsFrame(std::string* out, size_t count) {
  wire::FdsHeader header;
  header.set_count(static_cast<uint32_t>(count));
  (void)AppendMessageFrame(out, FrameType::kFds, 0, 0, header,
                           kDefaultMaxFrameSize);
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
