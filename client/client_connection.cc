#include "client/client_connection.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "transport/poller.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// Microseconds left until `deadline`, at least 1 (0 means "no deadline" on
// the wire).
uint64_t TimeoutMicros(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return 0;
  return static_cast<uint64_t>(std::max<int64_t>(
      1, absl::ToInt64Microseconds(deadline - absl::Now())));
}

// The connection's pool keeps this many large buffers warm (one being
// written, one being read), each up to a frame plus this much.
constexpr size_t kPooledBuffers = 2;
constexpr size_t kPooledBufferSlack = 64 * 1024;

// A CallHeader's encoding beyond its method name, without metadata: field
// keys, lengths and the timeout.
constexpr size_t kHeaderFieldsSize = 16;
// Requests whose frames (HEADERS and MESSAGE) fit in this many bytes are put
// together on the stack.
constexpr size_t kSmallOpenSize = 512;

absl::string_view AsView(absl::Span<const char> bytes) {
  return absl::string_view(bytes.data(), bytes.size());
}

}  // namespace

absl::Status ClientConnection::Unshared(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), status.message());
}

void ClientConnection::PatchStreamId(char* header, uint32_t stream_id) {
  header[4] = static_cast<char>(stream_id >> 24);
  header[5] = static_cast<char>(stream_id >> 16);
  header[6] = static_cast<char>(stream_id >> 8);
  header[7] = static_cast<char>(stream_id);
}

ClientConnection::ClientConnection(Fd fd, std::string target,
                                   const ChannelOptions& options,
                                   std::shared_ptr<ClientEventLoop> loop,
                                   std::unique_ptr<TlsSession> tls)
    : fd_(std::move(fd)),
      tls_(std::move(tls)),
      target_(std::move(target)),
      unix_(IsUnixSocket(fd_.get())),
      max_frame_size_(options.max_frame_size),
      max_metadata_size_(options.max_metadata_size),
      wake_fd_(MakeEventFd(/*semaphore=*/false).value_or(Fd())),
      loop_(std::move(loop)),
      out_(fd_.get(), options.batch_call_starts, unix_,
           options.max_fds_per_message),
      buffers_(kPooledBuffers,
               size_t{options.max_frame_size} + kPooledBufferSlack),
      in_(fd_.get(), target_, options.max_frame_size, &buffers_,
          unix_ ? options.max_fds_per_message : 0),
      preface_timeout_(options.connect_timeout),
      keepalive_time_(options.keepalive_time),
      keepalive_timeout_(options.keepalive_timeout) {
  if (tls_ != nullptr) {
    out_.UseTls(tls_.get());
    in_.UseTls(tls_.get());
  }
}

ClientConnection::~ClientConnection() = default;

std::string ClientConnection::TakeBuffer() {
  std::string buffer = buffers_.Take();
  buffer.clear();
  return buffer;
}

bool ClientConnection::PeerClosedWhileIdle() {
  MutexLock lock(&mu_);
  if (!streams_.empty() || reader_active_) return false;
  char byte;
  ssize_t got = recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got > 0) return false;  // something to read; the next reader sees it
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
  return true;
}

// ---- Opening calls ----

bool ClientConnection::Open(const std::shared_ptr<ClientCallState>& stream,
                            absl::string_view method,
                            const google::protobuf::MessageLite* request,
                            google::protobuf::MessageLite* unary_reply,
                            bool no_wait, bool hold_for_loop) {
  ClientContext* context = stream->context();
  const size_t request_size = request != nullptr ? request->ByteSizeLong() : 0;
  const uint64_t timeout_micros = TimeoutMicros(stream->deadline());
  // Encode HEADERS (+ MESSAGE) with stream id 0; the real id is patched in
  // under write_mu_ so that ids rise in the order calls reach the wire.
  // A small request with nothing else is put together on the stack.
  char small[kSmallOpenSize];
  size_t message_offset;
  size_t small_size = 0;
  // A blocking unary call without a context (most calls): no metadata, no
  // descriptors, never held; its frames most likely fit on the stack.
  const bool plain_unary =
      context == nullptr && unary_reply != nullptr && !no_wait;
  if (plain_unary) {
    small_size = EncodeSmallOpening(method, *request, request_size,
                                    timeout_micros, small, &message_offset);
    if (small_size > 0) {
      return SendSmallUnaryOpening(stream, absl::MakeSpan(small, small_size),
                                   message_offset, unary_reply);
    }
  }
  // Descriptors attached to the request go with it (PROTOCOL.md section
  // 16), if the server takes them; a streaming call's go with its first
  // Write().
  std::vector<Fd> fds;
  if (ABSL_PREDICT_FALSE(context != nullptr && request != nullptr &&
                         context->fds_.attached() > 0)) {
    fds = context->fds_.TakeAttached();
    // A callback call never waits: one the server may take is decided, and
    // sent, when its first frame has come (OpenWithFdsNoWait()).
    absl::Status allowed =
        no_wait ? FdsRefusedIfKnown(fds.size())
                : ServerAcceptsFds(fds.size(), stream->deadline());
    if (!allowed.ok()) {
      MutexLock lock(&mu_);
      stream->done_ = true;
      stream->status_ = allowed;
      return false;
    }
  }
  static const Metadata kNoMetadata;
  const Metadata& metadata =
      context != nullptr ? context->request_metadata() : kNoMetadata;
  std::string frames;
  absl::Span<char> encoded_frames;
  size_t fds_offset;
  // (A plain unary call here did not fit: not tried again.)
  if (!plain_unary && request != nullptr && metadata.empty() && fds.empty()) {
    small_size = EncodeSmallOpening(method, *request, request_size,
                                    timeout_micros, small, &message_offset);
  }
  if (small_size > 0) {
    fds_offset = message_offset;
    encoded_frames = absl::MakeSpan(small, small_size);
  } else {
    frames = TakeBuffer();
    // Room for both frames at once, unless metadata makes HEADERS large.
    frames.reserve(2 * kFrameHeaderSize + kHeaderFieldsSize + method.size() +
                   request_size);
    absl::Status encoded;
    if (!metadata.empty()) {
      encoded = ValidateMetadata(metadata, max_metadata_size_);
    }
    if (encoded.ok()) {
      encoded = AppendCallHeaderFrame(&frames, 0, 0, method, timeout_micros,
                                      metadata, max_frame_size_);
    }
    fds_offset = frames.size();
    if (ABSL_PREDICT_FALSE(!fds.empty()) && encoded.ok()) {
      AppendFdsFrame(&frames, 0, fds.size());
    }
    message_offset = frames.size();
    if (encoded.ok() && request != nullptr) {
      encoded =
          AppendMessageFrameOfSize(&frames, FrameType::kMessage, kFlagEndStream,
                                   0, *request, request_size, max_frame_size_);
      if (!encoded.ok()) {
        encoded = absl::ResourceExhaustedError(
            absl::StrCat("request not sent: ", encoded.message()));
      }
    }
    if (!encoded.ok()) {
      MutexLock lock(&mu_);
      stream->done_ = true;
      stream->status_ = encoded;
      return false;
    }
    if (ABSL_PREDICT_FALSE(!fds.empty()) && no_wait) {
      return OpenWithFdsNoWait(stream, unary_reply,
                               PendingOpen{std::move(frames), fds_offset,
                                           message_offset, std::move(fds)});
    }
    encoded_frames = absl::MakeSpan(frames);
  }

  size_t written = 0;
  absl::Status sent;
  bool hold = false;
  {
  MutexLock write_lock(&write_mu_);
  {
    MutexLock lock(&mu_);
    if (stream->done_) return false;  // cancelled before it started
    stream->direct_reply_ = unary_reply;
    if (!AdmitStreamLocked(
            stream, request != nullptr,
            request != nullptr
                ? encoded_frames.size() - message_offset - kFrameHeaderSize
                : 0)) {
      return true;
    }
    // Hold the call if the batching policy says so, but never while a
    // thread waits on the connection (it would not look again; a thread
    // that starts waiting later sees out_.has_held(), set here under mu_,
    // and flushes first), nor while the event loop watches it (it flushes
    // held bytes as soon as the socket takes them).
    hold = unary_reply == nullptr && !no_wait && fds.empty() &&
           !loop_watching_.load(std::memory_order_relaxed) && !reader_active_ &&
           out_.DecideToHold(streams_.size() - 1, encoded_frames.size());
    // Started by a reaction: held by the same policy (holding every call
    // would make the two sides take turns), the loop writes it at the end
    // of its turn with the other calls its reactions start.
    if (hold_for_loop && fds.empty() &&
        out_.DecideToHoldForLoop(streams_.size() - 1, encoded_frames.size())) {
      hold = true;
      loop_flush_due_ = true;
    }
  }
  PatchStreamId(&encoded_frames[0], stream->id_);
  if (request != nullptr)
    PatchStreamId(&encoded_frames[message_offset], stream->id_);
  if (ABSL_PREDICT_FALSE(!fds.empty())) {
    PatchStreamId(&encoded_frames[fds_offset], stream->id_);
    sent = out_.WriteAllWithFds(AsView(encoded_frames), fds_offset, RawFds(fds),
                                stream->deadline(), &written);
  } else if (hold) {
    // Held: it goes out with the next write or before the next wait.
    out_.HoldCall(AsView(encoded_frames));
  } else if (no_wait) {
    sent = out_.WriteNoWait(AsView(encoded_frames), &written);
  } else {
    sent = WriteAllInTime(AsView(encoded_frames), stream->deadline(), &written);
  }
  }
  if (!frames.empty()) buffers_.Give(std::move(frames));  // (else unused)
  if (sent.ok()) return false;
  return OpeningNotSent(stream, sent, written);
}

size_t ClientConnection::EncodeSmallOpening(
    absl::string_view method, const google::protobuf::MessageLite& request,
    size_t request_size, uint64_t timeout_micros, char* out,
    size_t* message_offset) const {
  const size_t header_frame_size =
      PlainCallHeaderFrameSize(method, timeout_micros);
  if (header_frame_size + kFrameHeaderSize + request_size > kSmallOpenSize ||
      header_frame_size - kFrameHeaderSize > max_frame_size_ ||
      request_size > max_frame_size_) {
    return 0;
  }
  char* end = EncodePlainCallHeaderFrame(out, 0, 0, method, timeout_micros);
  *message_offset = end - out;
  end = EncodeMessageFrameOfSize(end, FrameType::kMessage, kFlagEndStream, 0,
                                 request, request_size);
  return end - out;
}

bool ClientConnection::SendSmallUnaryOpening(
    const std::shared_ptr<ClientCallState>& stream, absl::Span<char> frames,
    size_t message_offset, google::protobuf::MessageLite* unary_reply) {
  size_t written = 0;
  absl::Status sent;
  {
    MutexLock write_lock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (stream->done_) return false;  // cancelled before it started
      stream->direct_reply_ = unary_reply;
      if (!AdmitStreamLocked(
              stream, /*with_request=*/true,
              frames.size() - message_offset - kFrameHeaderSize)) {
        return true;
      }
    }
    PatchStreamId(&frames[0], stream->id_);
    PatchStreamId(&frames[message_offset], stream->id_);
    sent = WriteAllInTime(AsView(frames), stream->deadline(), &written);
  }
  if (ABSL_PREDICT_TRUE(sent.ok())) return false;
  return OpeningNotSent(stream, sent, written);
}

bool ClientConnection::OpeningNotSent(
    const std::shared_ptr<ClientCallState>& stream, const absl::Status& sent,
    size_t written) {
  // The server may have said why it closed the connection (a GOAWAY, e.g.
  // for too many connections) before our write failed: read it, so that
  // the call fails with that reason.
  ReadWhatIsLeft();
  // A partly written frame leaves the byte stream unusable for every call.
  MutexLock lock(&mu_);
  if (stream->done_ || absl::IsDeadlineExceeded(sent)) {
    failed_by_own_call_.store(true, std::memory_order_release);
  }
  if (stream->done_) {
    FailLocked(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " failed: ", sent.message())));
    return stream->retryable_;
  }
  absl::Status failure =
      absl::IsDeadlineExceeded(sent)
          ? absl::DeadlineExceededError(
                "deadline exceeded while sending the request")
          : absl::UnavailableError(absl::StrCat("failed to send to ", target_,
                                                ": ", sent.message()));
  stream->retryable_ = written == 0 && !absl::IsDeadlineExceeded(sent);
  EndStreamLocked(*stream, failure);
  FailLocked(absl::UnavailableError(
      absl::StrCat("connection to ", target_, " failed: ", sent.message())));
  return stream->retryable_;
}

bool ClientConnection::AdmitStreamLocked(
    const std::shared_ptr<ClientCallState>& stream, bool with_request,
    size_t request_payload) {
  if (!broken_.ok() || going_away_) {
    EndStreamLocked(
        *stream, broken_.ok() ? absl::UnavailableError(absl::StrCat(
                                    "connection to ", target_, " is closing"))
                              : broken_);
    stream->retryable_ = true;
    return false;
  }
  stream->id_ = out_.TakeStreamId();
  if (out_.stream_ids_used_up()) {
    going_away_ = true;
    usable_.store(false);
  }
  if (with_request) {
    stream->half_closed_ = true;
    stream->send_window_ -= static_cast<int64_t>(request_payload);
  }
  streams_.Add(stream->id_, stream);
  return true;
}

absl::Status ClientConnection::CallUnary(
    const std::shared_ptr<ClientCallState>& stream, absl::string_view method,
    const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* reply, bool* retryable) {
  Open(stream, method, &request, reply);
  MutexLock lock(&mu_);
  ClientCallState* s = stream.get();
  AwaitLocked(s, [s] { return s->done_; }, stream->deadline());
  *retryable = s->retryable_;
  if (s->status_.ok() && !s->got_reply_) {
    return absl::InternalError("server ended a unary call without a reply");
  }
  return s->status_;
}

// ---- Stream operations ----

bool ClientConnection::Write(ClientCallState& stream,
                             const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  std::vector<Fd> fds;
  ClientContext* context = stream.context();
  if (ABSL_PREDICT_FALSE(context != nullptr && context->fds_.attached() > 0)) {
    fds = context->fds_.TakeAttached();
    absl::Status allowed = ServerAcceptsFds(fds.size(), stream.deadline());
    if (!allowed.ok()) {
      Cancel(stream, allowed);
      return false;
    }
  }
  if (size > max_frame_size_) {
    Cancel(stream, absl::ResourceExhaustedError(absl::StrCat(
                       "request not sent: message of ", size,
                       " bytes exceeds the frame limit of ", max_frame_size_,
                       " bytes")));
    return false;
  }
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return false;
    ClientCallState* s = &stream;
    if (!AwaitLocked(
            s, [s] { return s->done_ || s->send_window_ > 0; },
            stream.deadline()) ||
        stream.done_) {
      return false;
    }
    stream.send_window_ -= static_cast<int64_t>(size);
  }
  std::string frame = TakeBuffer();
  if (ABSL_PREDICT_FALSE(!fds.empty())) {
    AppendFdsFrame(&frame, stream.id_, fds.size());
  }
  (void)AppendMessageFrameOfSize(&frame, FrameType::kMessage, 0, stream.id_,
                                 message, size, max_frame_size_);
  bool sent_nothing;
  absl::Status sent = fds.empty()
                          ? WriteFrames(frame, stream.deadline(), &sent_nothing)
                          : WriteFramesWithFds(frame, fds, stream.deadline());
  buffers_.Give(std::move(frame));
  return sent.ok();
}

bool ClientConnection::WritesDone(ClientCallState& stream) {
  {
    MutexLock lock(&mu_);
    if (stream.done_ || stream.half_closed_) return false;
    stream.half_closed_ = true;
  }
  std::string frame;
  AppendRawFrame(&frame, FrameType::kHalfClose, 0, stream.id_, "");
  bool sent_nothing;
  return WriteFrames(frame, stream.deadline(), &sent_nothing).ok();
}

bool ClientConnection::Read(ClientCallState& stream,
                            google::protobuf::MessageLite* message) {
  std::string payload;
  std::vector<Fd> fds;
  uint32_t acknowledge = 0;
  {
    MutexLock lock(&mu_);
    ClientCallState* s = &stream;
    AwaitLocked(
        s, [s] { return !s->inbox_.empty() || s->done_; }, stream.deadline());
    if (stream.inbox_.empty()) return false;
    payload = stream.inbox_.Pop(&fds);
    stream.unacknowledged_ += static_cast<uint32_t>(payload.size());
    if (!stream.done_ && stream.unacknowledged_ >= kInitialWindowSize / 2) {
      acknowledge = stream.unacknowledged_;
      stream.unacknowledged_ = 0;
    }
  }
  if (acknowledge > 0) SendWindowUpdate(stream.id_, acknowledge);
  if (!message->ParseFromString(payload)) {
    Cancel(stream, absl::InternalError(absl::StrCat(
                       "failed to parse a reply (", message->GetTypeName(),
                       ")")));
    return false;
  }
  absl::Status matched = AcceptReplyFds(stream, *message, std::move(fds));
  if (ABSL_PREDICT_FALSE(!matched.ok())) {
    Cancel(stream, matched);
    return false;
  }
  return true;
}

bool ClientConnection::ParseUnaryReplyInto(
    ClientCallState& stream, google::protobuf::MessageLite* reply) {
  MutexLock lock(&mu_);
  if (stream.done_ || !stream.inbox_.empty() ||
      stream.direct_reply_ != nullptr) {
    return false;
  }
  stream.direct_reply_ = reply;
  return true;
}

bool ClientConnection::WaitUntilDone(ClientCallState& stream,
                                     absl::Time deadline) {
  MutexLock lock(&mu_);
  ClientCallState* s = &stream;
  return AwaitLocked(s, [s] { return s->done_; }, deadline);
}

absl::Status ClientConnection::Finish(ClientCallState& stream) {
  MutexLock lock(&mu_);
  ClientCallState* s = &stream;
  AwaitLocked(s, [s] { return s->done_; }, absl::InfiniteFuture());
  stream.inbox_.Clear();
  return stream.status_;
}

void ClientConnection::Cancel(ClientCallState& stream,
                              const absl::Status& why) {
  uint32_t id;
  // Read `why` before it becomes the call's status, which other threads
  // share and release: Debian's Abseil counts a Status's references in
  // code ThreadSanitizer cannot see, so a read after that point looks
  // like a race with the last owner's delete.
  const std::string reason(why.message());
  {
    MutexLock lock(&mu_);
    if (stream.done_) return;
    id = stream.id_;
    EndStreamLocked(stream, why);
    // A thread may be blocked reading for this very call: wake it.
    if (reader_active_ && wake_fd_.valid()) SignalEventFd(wake_fd_.get());
  }
  if (id != 0) SendCancel(id, reason);
}

absl::Status ClientConnection::ReplyMetadataTooLarge(
    const ClientCallState& stream) const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "reply metadata of ", stream.received_metadata_size_,
      " bytes exceeds the limit of ", max_metadata_size_, " bytes"));
}

void ClientConnection::EndStreamLocked(ClientCallState& stream,
                                       const absl::Status& status) {
  if (stream.done_) return;
  stream.done_ = true;
  stream.status_ = Unshared(status);
  NotifyLocked(stream);
  // The table's reference lives to the end, as `stream` is used below.
  std::shared_ptr<ClientCallState> kept;
  if (stream.id_ != 0) kept = streams_.Take(stream.id_);
  if (ABSL_PREDICT_FALSE(stream.awaiting_settings_)) {
    ForgetAwaitingLocked(stream);
    stream.pending_open_.reset();  // never sent: its descriptors close
  }
}

void ClientConnection::Fail(const absl::Status& status) {
  MutexLock lock(&mu_);
  FailLocked(status);
}

void ClientConnection::FailLocked(const absl::Status& status) {
  if (broken_.ok()) broken_ = Unshared(status);
  usable_.store(false);
  // Calls not sent yet, waiting for the server's first frame, first.
  while (!awaiting_settings_.empty()) {
    EndStreamLocked(*awaiting_settings_.back(), status);
  }
  streams_.ForEach(
      [&](uint32_t, const std::shared_ptr<ClientCallState>& stream)
          ABSL_NO_THREAD_SAFETY_ANALYSIS {  // under mu_, as FailLocked()
            stream->done_ = true;
            stream->status_ = Unshared(status);
            NotifyLocked(*stream);
          });
  streams_.Clear();
  ::shutdown(fd_.get(), SHUT_RDWR);
}

// ---- ClientCallState ----

ClientCallState::ClientCallState(std::shared_ptr<ClientConnection> connection,
                                 ClientContext* context, absl::Time deadline,
                                 absl::Status failure)
    : connection_(std::move(connection)),
      context_(context),
      deadline_(deadline) {
  if (connection_ == nullptr) {
    done_ = true;
    status_ = std::move(failure);
  }
}

void ClientCallState::Cancel(const absl::Status& why) {
  // A call begun before fork(), cancelled in the child: its connection is
  // the parent's (client/channel.h); leave it alone.
  if (connection_ != nullptr && !connection_->forked_away()) {
    connection_->Cancel(*this, why);
  }
}

}  // namespace sockrpc
