#include "client/client_connection.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sockrpc/wire.pb.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// Microseconds left until `deadline`, at least 1 (0 means "no deadline" on
// the wire).
uint64_t TimeoutMicros(absl::Time deadline, absl::Time now) {
  if (deadline == absl::InfiniteFuture()) return 0;
  return static_cast<uint64_t>(
      std::max<int64_t>(1, absl::ToInt64Microseconds(deadline - now)));
}

// Rewrites the stream id of the frame header at `header`.
void PatchStreamId(char* header, uint32_t stream_id) {
  header[4] = static_cast<char>(stream_id >> 24);
  header[5] = static_cast<char>(stream_id >> 16);
  header[6] = static_cast<char>(stream_id >> 8);
  header[7] = static_cast<char>(stream_id);
}

}  // namespace

ClientConnection::ClientConnection(Fd fd, Address address,
                                   const ChannelOptions& options)
    : fd_(std::move(fd)),
      address_(std::move(address)),
      target_(address_.ToString()),
      max_frame_size_(options.max_frame_size),
      reader_(options.max_frame_size) {}

ClientConnection::~ClientConnection() = default;

bool ClientConnection::usable() const {
  absl::MutexLock lock(&mu_);
  return broken_.ok() && !going_away_;
}

bool ClientConnection::PeerClosedWhileIdle() {
  absl::MutexLock lock(&mu_);
  if (!calls_.empty() || reader_active_) return false;
  char byte;
  ssize_t got = recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got > 0) return false;  // something to read; the next reader sees it
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
  return true;
}

ClientConnection::CallResult ClientConnection::CallUnary(
    ClientContext* context, absl::string_view method,
    const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* reply, absl::Time deadline) {
  // Encode HEADERS + MESSAGE with stream id 0; the real id is patched in
  // under write_mu_ so that ids rise in the order calls reach the wire.
  thread_local std::string frames;
  frames.clear();
  wire::CallHeader header;
  header.set_method(std::string(method));
  header.set_timeout_micros(TimeoutMicros(deadline, absl::Now()));
  if (context != nullptr && !context->metadata().empty()) {
    absl::Status valid = ValidateMetadata(context->metadata());
    if (!valid.ok()) return {valid, false};
    MetadataToWire(context->metadata(), header.mutable_metadata());
  }
  absl::Status encoded = AppendMessageFrame(&frames, FrameType::kHeaders, 0, 0,
                                            header, max_frame_size_);
  const size_t message_offset = frames.size();
  if (encoded.ok()) {
    encoded = AppendMessageFrame(&frames, FrameType::kMessage, kFlagEndStream,
                                 0, request, max_frame_size_);
  }
  if (!encoded.ok()) {
    return {absl::ResourceExhaustedError(absl::StrCat(
                "request not sent: ", encoded.message())),
            false};
  }

  PendingCall call{context, reply};
  uint32_t stream_id;
  {
    absl::MutexLock write_lock(&write_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (!broken_.ok() || going_away_) {
        return {broken_.ok() ? absl::UnavailableError(absl::StrCat(
                                   "connection to ", target_, " is closing"))
                             : broken_,
                true};
      }
      stream_id = next_stream_id_++;
      if (next_stream_id_ == 0x7fffffff) going_away_ = true;  // ids used up
      calls_[stream_id] = &call;
    }
    PatchStreamId(&frames[0], stream_id);
    PatchStreamId(&frames[message_offset], stream_id);
    if (!preface_sent_) {
      std::string preface;
      AppendPreface(&preface);
      frames.insert(0, preface);
    }
    size_t written = 0;
    absl::Status sent = WriteAll(frames, deadline, &written);
    if (written > 0) preface_sent_ = true;
    if (!sent.ok()) {
      absl::MutexLock lock(&mu_);
      calls_.erase(stream_id);
      // A partly written frame leaves the stream unusable for every call.
      FailLocked(absl::UnavailableError(
          absl::StrCat("connection to ", target_, " failed: ",
                       sent.message())));
      if (absl::IsDeadlineExceeded(sent)) {
        return {absl::DeadlineExceededError(
                    "deadline exceeded while sending the request"),
                false};
      }
      return {absl::UnavailableError(absl::StrCat(
                  "failed to send to ", target_, ": ", sent.message())),
              written == 0};
    }
  }
  if (frames.capacity() > 256 * 1024) std::string().swap(frames);

  // Wait for the reply, reading for everyone while nobody else does.
  mu_.Lock();
  while (!call.done) {
    if (!reader_active_) {
      reader_active_ = true;
      mu_.Unlock();
      ReadUntilDone(stream_id, deadline);
      mu_.Lock();
      reader_active_ = false;
      if (call.done || absl::Now() >= deadline) break;
      continue;
    }
    struct WaitState {
      PendingCall* call;
      bool* reader_active;
    } state{&call, &reader_active_};
    bool woken = mu_.AwaitWithDeadline(
        absl::Condition(
            +[](WaitState* s) { return s->call->done || !*s->reader_active; },
            &state),
        deadline);
    if (!woken && !call.done) break;
  }
  bool timed_out = !call.done;
  if (timed_out) calls_.erase(stream_id);
  mu_.Unlock();
  if (timed_out) {
    SendCancel(stream_id, "deadline exceeded");
    return {absl::DeadlineExceededError(absl::StrCat(
                "deadline exceeded waiting for the reply from ", target_)),
            false};
  }
  return {call.status, call.retryable};
}

absl::Status ClientConnection::WriteAll(absl::string_view bytes,
                                        absl::Time deadline, size_t* written) {
  while (*written < bytes.size()) {
    iovec iov{const_cast<char*>(bytes.data()) + *written,
              bytes.size() - *written};
    absl::StatusOr<size_t> n = WriteSome(fd_.get(), &iov, 1);
    if (!n.ok()) return n.status();
    *written += *n;
    if (*n == 0) {
      absl::Status ready = WaitFor(fd_.get(), POLLOUT, deadline);
      if (!ready.ok()) return ready;
    }
  }
  return absl::OkStatus();
}

void ClientConnection::ReadUntilDone(uint32_t stream_id, absl::Time deadline) {
  bool mine_done = false;
  for (;;) {
    // Wait first: right after a request goes out, its reply is not there.
    if (!WaitFor(fd_.get(), POLLIN, deadline).ok()) return;  // deadline
    for (;;) {
      absl::Span<char> space = reader_.PrepareRead();
      absl::StatusOr<ssize_t> got =
          ReadSome(fd_.get(), space.data(), space.size());
      if (!got.ok()) {
        Fail(absl::UnavailableError(absl::StrCat(
            "connection to ", target_, " failed: ", got.status().message())));
        return;
      }
      if (*got == 0) {
        Fail(absl::UnavailableError(
            absl::StrCat("connection to ", target_, " closed by the server")));
        return;
      }
      if (*got < 0) break;  // drained: wait again
      reader_.CommitRead(static_cast<size_t>(*got));
      if (!ProcessFrames(stream_id, &mine_done)) return;
      if (mine_done) {
        reader_.ShrinkIfIdle();
        return;
      }
      if (static_cast<size_t>(*got) < space.size()) break;
    }
  }
}

bool ClientConnection::ProcessFrames(uint32_t stream_id, bool* mine_done) {
  if (!preface_received_) {
    absl::string_view preface;
    if (!reader_.TakePreface(&preface)) return true;
    absl::Status valid = CheckPreface(preface);
    if (!valid.ok()) {
      Fail(absl::UnavailableError(absl::StrCat(
          "server at ", target_, " did not answer as a sockrpc server: ",
          valid.message())));
      return false;
    }
    preface_received_ = true;
  }
  for (;;) {
    FrameReader::Frame frame;
    absl::Status error;
    switch (reader_.Next(&frame, &error)) {
      case FrameReader::Result::kNeedMore:
        return true;
      case FrameReader::Result::kMalformed:
        Fail(absl::InternalError(absl::StrCat(
            "protocol error from ", target_, ": ", error.message())));
        return false;
      case FrameReader::Result::kOversized: {
        uint32_t id = frame.header.stream_id;
        absl::Status too_big = absl::ResourceExhaustedError(absl::StrCat(
            "reply frame of ", frame.header.length,
            " bytes exceeds the limit of ", max_frame_size_, " bytes"));
        bool known;
        {
          absl::MutexLock lock(&mu_);
          known = calls_.contains(id);
          FinishCall(id, too_big);
        }
        if (id == stream_id) *mine_done = true;
        if (known) SendCancel(id, "reply too large");
        break;
      }
      case FrameReader::Result::kFrame:
        if (!HandleFrame(frame, stream_id, mine_done)) return false;
        break;
    }
  }
}

bool ClientConnection::HandleFrame(const FrameReader::Frame& frame,
                                   uint32_t stream_id, bool* mine_done) {
  const uint32_t id = frame.header.stream_id;
  const auto* data = frame.payload.data();
  const int size = static_cast<int>(frame.payload.size());
  switch (static_cast<FrameType>(frame.header.type)) {
    case FrameType::kHeaders: {
      wire::ResponseHeader header;
      if (!header.ParseFromArray(data, size)) break;
      absl::MutexLock lock(&mu_);
      auto it = calls_.find(id);
      if (it != calls_.end() && it->second->context != nullptr) {
        it->second->context->initial_metadata_ =
            MetadataFromWire(header.metadata());
      }
      break;
    }
    case FrameType::kMessage: {
      absl::MutexLock lock(&mu_);
      auto it = calls_.find(id);
      if (it == calls_.end()) break;  // abandoned call
      PendingCall* call = it->second;
      if (call->got_reply) {
        FinishCall(id, absl::InternalError(
                           "server sent more than one reply to a unary call"));
      } else if (!call->reply->ParseFromArray(data, size)) {
        FinishCall(id, absl::InternalError(absl::StrCat(
                           "failed to parse the reply (",
                           call->reply->GetTypeName(), ")")));
      } else {
        call->got_reply = true;
        break;
      }
      if (id == stream_id) *mine_done = true;
      break;
    }
    case FrameType::kStatus: {
      wire::CallStatus status;
      absl::Status result =
          status.ParseFromArray(data, size)
              ? StatusFromWire(status.code(), status.message())
              : absl::InternalError("malformed STATUS frame from the server");
      absl::MutexLock lock(&mu_);
      auto it = calls_.find(id);
      if (it == calls_.end()) break;
      PendingCall* call = it->second;
      if (call->context != nullptr) {
        call->context->trailing_metadata_ = MetadataFromWire(status.metadata());
      }
      if (result.ok() && !call->got_reply) {
        result = absl::InternalError("server ended a unary call without a reply");
      }
      FinishCall(id, result);
      if (id == stream_id) *mine_done = true;
      break;
    }
    case FrameType::kGoAway: {
      wire::GoAway goaway;
      (void)goaway.ParseFromArray(data, size);
      absl::Status why = absl::UnavailableError(absl::StrCat(
          "server at ", target_, " is going away: ",
          StatusFromWire(goaway.code(), goaway.message()).ToString()));
      absl::MutexLock lock(&mu_);
      going_away_ = true;
      // Calls the server never saw fail now and may be retried elsewhere.
      for (auto it = calls_.begin(); it != calls_.end();) {
        auto current = it++;
        if (current->first > goaway.last_stream_id()) {
          current->second->retryable = true;
          if (current->first == stream_id) *mine_done = true;
          FinishCall(current->first, why);
        }
      }
      break;
    }
    case FrameType::kPing: {
      if (frame.header.flags & kFlagAck) break;
      std::string pong;
      AppendRawFrame(&pong, FrameType::kPing, kFlagAck, 0, frame.payload);
      SendRaw(pong);
      break;
    }
    default:
      break;  // CANCEL, WINDOW_UPDATE and unknown types: nothing to do
  }
  return true;
}

void ClientConnection::FinishCall(uint32_t stream_id,
                                  const absl::Status& status) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  it->second->status = status;
  it->second->done = true;
  calls_.erase(it);
}

void ClientConnection::Fail(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  FailLocked(status);
}

void ClientConnection::FailLocked(const absl::Status& status) {
  if (broken_.ok()) broken_ = status;
  for (auto& [id, call] : calls_) {
    call->status = status;
    call->done = true;
  }
  calls_.clear();
  ::shutdown(fd_.get(), SHUT_RDWR);
}

void ClientConnection::SendCancel(uint32_t stream_id,
                                  absl::string_view reason) {
  wire::CancelCall cancel;
  cancel.set_reason(std::string(reason));
  std::string frame;
  (void)AppendMessageFrame(&frame, FrameType::kCancel, 0, stream_id, cancel,
                           max_frame_size_);
  SendRaw(frame);
}

void ClientConnection::SendRaw(absl::string_view bytes) {
  absl::MutexLock write_lock(&write_mu_);
  if (!preface_sent_) return;
  size_t written = 0;
  // Control frames are small; give up (and fail) rather than block long.
  absl::Status sent =
      WriteAll(bytes, absl::Now() + absl::Seconds(1), &written);
  if (!sent.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  }
}

}  // namespace sockrpc
