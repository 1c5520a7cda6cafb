#include "server/server_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/server_runtime.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {

ServerConnection::ServerConnection(ServerRuntime* runtime, uint64_t tag,
                                   std::unique_ptr<ByteStream> stream,
                                   std::string peer,
                                   std::optional<PeerCredentials> credentials,
                                   bool authorized,
                                   absl::Time handshake_deadline)
    : runtime_(runtime),
      tag_(tag),
      stream_(std::move(stream)),
      peer_(std::move(peer)),
      credentials_(credentials),
      authorized_(authorized),
      handshake_deadline_(handshake_deadline),
      connected_at_(absl::Now()),
      reader_(runtime->options().max_frame_size, &runtime->buffers()),
      last_read_nanos_(MonotonicNanos()),
      last_activity_nanos_(last_read_nanos_),
      accepts_fds_(credentials_.has_value() &&
                   runtime->options().max_fds_per_message > 0),
      max_frame_size_(runtime->options().max_frame_size),
      has_interceptors_(!runtime->options().interceptors.empty()) {}

ServerConnection::~ServerConnection() = default;

size_t ServerConnection::max_metadata_size() const {
  return runtime_->options().max_metadata_size;
}

const std::vector<ServerInterceptor*>& ServerConnection::interceptors() const {
  return runtime_->options().interceptors;
}

bool ServerConnection::ProcessFrames(
    const std::shared_ptr<ServerConnection>& self, ReadyCalls* ready) {
  if (!preface_received_) {
    absl::string_view preface;
    if (!reader_.TakePreface(&preface)) return true;
    absl::Status valid = CheckPreface(preface);
    std::string out;
    if (!preface_sent_) AppendPreface(&out);
    preface_sent_ = true;
    if (!valid.ok()) {
      runtime_->Log(absl::StrCat("connection from ", peer_,
                                 " dropped: ", valid.message()));
      wire::GoAway goaway;
      goaway.set_code(static_cast<uint32_t>(valid.code()));
      goaway.set_message(std::string(valid.message()));
      (void)AppendMessageFrame(&out, FrameType::kGoAway, 0, 0, goaway,
                               kDefaultMaxFrameSize);
      Send(std::move(out));
      return false;
    }
    preface_received_ = true;
    tls_peer_ = stream_->tls_peer();
    AppendSettings(&out);
    Send(std::move(out));
  }
  for (;;) {
    FrameReader::Frame frame;
    absl::Status error;
    frame_begin_ = bytes_received_.Get() - reader_.buffered();
    switch (reader_.Next(&frame, &error)) {
      case FrameReader::Result::kNeedMore:
        return ABSL_PREDICT_TRUE(received_fds_.empty()) || CheckFdsClaimed();
      case FrameReader::Result::kMalformed:
        return ProtocolError(error);
      case FrameReader::Result::kOversized: {
        if (ABSL_PREDICT_FALSE(fds_stream_ != 0) &&
            !CheckFdsFollowed(frame.header)) {
          return false;
        }
        if (ABSL_PREDICT_FALSE(fds_stream_ != 0)) {
          bool over_limit;
          ReleaseFds(TakeMessageFds(&over_limit).size());  // closed here
        }
        // An unknown type is skipped, over the limit or not (section 10).
        if (!IsKnownFrameType(frame.header.type)) break;
        absl::Status too_big = absl::ResourceExhaustedError(absl::StrCat(
            "frame of ", frame.header.length, " bytes exceeds the limit of ",
            runtime_->options().max_frame_size, " bytes"));
        LogRefusal(Refusal::kFrameTooLarge,
                   absl::StrCat("connection from ", peer_, ": ",
                                FrameTypeName(frame.header.type), " ",
                                too_big.message(), " (stream ",
                                frame.header.stream_id, ")"));
        uint32_t stream_id = frame.header.stream_id;
        if (frame.header.type == static_cast<uint8_t>(FrameType::kHeaders) &&
            stream_id > last_stream_id_) {
          last_stream_id_ = stream_id;
          NoteCallFrame();
          SendStatus(stream_id, too_big);
        } else if (std::shared_ptr<ServerCallState> call =
                       FindCall(stream_id)) {
          call->Cancel(too_big, /*send_status=*/true);
        }
        break;
      }
      case FrameReader::Result::kFrame:
        if (!HandleFrame(self, frame, ready)) return false;
        break;
    }
  }
}

bool ServerConnection::HandleFrame(
    const std::shared_ptr<ServerConnection>& self,
    const FrameReader::Frame& frame, ReadyCalls* ready) {
  const FrameHeader& header = frame.header;
  const bool first_frame = !client_frame_seen_;
  client_frame_seen_ = true;
  if (ABSL_PREDICT_FALSE(fds_stream_ != 0) && !CheckFdsFollowed(header)) {
    return false;
  }
  // The answer to a keepalive PING is no activity (idle_timeout).
  if (ABSL_PREDICT_TRUE(header.type != static_cast<uint8_t>(FrameType::kPing) ||
                        (header.flags & kFlagAck) == 0)) {
    last_activity_nanos_ = last_read_nanos_;
  }
  switch (static_cast<FrameType>(header.type)) {
    case FrameType::kSettings:
      return HandleSettings(frame, first_frame);
    case FrameType::kFds:
      return HandleFds(frame);
    case FrameType::kHeaders:
      return HandleHeaders(self, frame, ready);
    case FrameType::kMessage:
      return HandleMessage(frame, ready);
    case FrameType::kHalfClose:
      if (auto call = FindCall(header.stream_id)) {
        if (call->starts_with_request() && call->MarkStarted()) {
          // The client ended the call without sending its request.
          call->Cancel(
              absl::InternalError(absl::StrCat(
                  RpcKindName(call->kind()), " call to ", call->method_name(),
                  " ended without a request message")),
              /*send_status=*/true);
          runtime_->CallFinished();  // counted while it awaited a request
        } else {
          call->OnHalfClose(ready);
        }
      }
      return true;
    case FrameType::kCancel:
      if (auto call = FindCall(header.stream_id)) {
        call->Cancel(absl::CancelledError("cancelled by the client"),
                     /*send_status=*/false);
      }
      return true;
    case FrameType::kWindowUpdate: {
      uint32_t increment;
      if (!DecodeWindowUpdate(frame.payload, &increment)) {
        return ProtocolError(
            absl::InvalidArgumentError("WINDOW_UPDATE payload is not 4 bytes"));
      }
      if (header.stream_id == 0) return true;  // no connection window in v1
      if (auto call = FindCall(header.stream_id)) {
        call->OnWindowUpdate(increment, ready);
      }
      return true;
    }
    case FrameType::kPing:
      return HandlePing(frame);
    case FrameType::kGoAway:
      return false;  // the client is leaving
    case FrameType::kStatus:
      return ProtocolError(absl::InvalidArgumentError(
          "client sent a STATUS frame (only servers may)"));
  }
  return true;  // unknown types are skipped
}

bool ServerConnection::HandleHeaders(
    const std::shared_ptr<ServerConnection>& self,
    const FrameReader::Frame& frame, ReadyCalls* ready) {
  const uint32_t stream_id = frame.header.stream_id;
  if (stream_id <= last_stream_id_) {
    return ProtocolError(absl::InvalidArgumentError(absl::StrCat(
        "HEADERS for stream ", stream_id,
        " which is not above the last stream id ", last_stream_id_)));
  }
  last_stream_id_ = stream_id;
  NoteCallFrame();
  // Most HEADERS name a known method and a timeout, nothing else: those
  // are read without protobuf, and the method found from the name's bytes
  // (a known name is valid UTF-8, as protobuf would check). The rest take
  // the full parse.
  absl::string_view method_name;
  uint64_t timeout_micros = 0;
  const RegisteredMethod* registered = nullptr;
  const wire::CallHeader* parsed = nullptr;
  if (DecodePlainCallHeader(frame.payload, &method_name, &timeout_micros)) {
    registered = FindMethodCached(method_name);
  }
  if (registered == nullptr) {
    if (call_header_ == nullptr) {
      call_header_ = std::make_unique<wire::CallHeader>();
    }
    if (!call_header_->ParseFromArray(frame.payload.data(),
                                      static_cast<int>(frame.payload.size()))) {
      return ProtocolError(absl::InvalidArgumentError(absl::StrCat(
          "HEADERS payload of stream ", stream_id, " is not a CallHeader")));
    }
    parsed = call_header_.get();
    method_name = parsed->method();
    timeout_micros = parsed->timeout_micros();
  }
  if (runtime_->draining()) {
    RefuseCall(stream_id, absl::UnavailableError("server is shutting down"));
    return true;
  }
  if (!authorized_) {
    absl::Status refused = absl::PermissionDeniedError(absl::StrCat(
        "peer ", DescribeCredentials(), " may not call this server"));
    LogRefusal(Refusal::kNotAllowed, absl::StrCat("connection from ", peer_,
                                                  ": ", refused.message()));
    RefuseCall(stream_id, refused);
    return true;
  }
  if (registered == nullptr) {
    absl::Status error;
    registered = runtime_->FindMethod(method_name, &error);
    if (registered == nullptr) {
      RefuseCall(stream_id, error);
      return true;
    }
    last_method_ = registered;
  }
  const Service::Method* method = registered->method;
  Metadata metadata;
  if (parsed != nullptr && parsed->metadata_size() > 0) {
    metadata = MetadataFromWire(parsed->metadata());
    absl::Status metadata_ok =
        ValidateMetadata(metadata, runtime_->options().max_metadata_size);
    if (!metadata_ok.ok()) {
      LogRefusal(Refusal::kMetadataTooLarge,
                 absl::StrCat("connection from ", peer_, ": call ", method_name,
                              " refused: ", metadata_ok.message()));
      RefuseCall(stream_id, metadata_ok);
      return true;
    }
  }
  const bool end_stream = (frame.header.flags & kFlagEndStream) != 0;
  if (end_stream && method->starts_with_request()) {
    RefuseCall(stream_id,
               absl::InternalError(absl::StrCat(
                   RpcKindName(method->kind), " call to ", method_name,
                   " ended without a request message")));
    return true;
  }
  // The deadline counts from now, just after the read that brought the
  // header (the frames before it in that read take microseconds).
  const absl::Time deadline =
      timeout_micros == 0
          ? absl::InfiniteFuture()
          : absl::Now() +
                absl::Microseconds(static_cast<int64_t>(
                    std::min<uint64_t>(timeout_micros, uint64_t{1} << 62)));
  auto call = std::allocate_shared<ServerCallState>(
      RecyclingAllocator<ServerCallState>(runtime_->call_blocks()), self,
      stream_id, method, metadata.empty() ? nullptr : &metadata, deadline,
      registered->stats, last_read_nanos_);
  {
    MutexLock lock(&calls_mu_);
    const int limit = runtime_->options().max_calls_per_connection;
    if (static_cast<int>(calls_.size()) >= limit) {
      absl::Status refused = absl::ResourceExhaustedError(absl::StrCat(
          "too many calls in flight on one connection (limit ", limit, ")"));
      LogRefusal(Refusal::kTooManyCalls,
                 absl::StrCat("connection from ", peer_, ": call ", method_name,
                              " refused: ", refused.message()));
      RefuseCall(stream_id, refused);
      return true;
    }
    calls_.Add(stream_id, call);
  }
  if (method->starts_with_request()) call->CountWhileAwaitingRequest();
  if (deadline != absl::InfiniteFuture()) runtime_->ScheduleDeadline(call);
  if (method->starts_with_request()) {
    // Its request most likely follows in the same read: taken at once if
    // it is whole there (and no descriptors wait for a frame), else found
    // by its MESSAGE later in this read.
    FrameReader::Frame request;
    if (ABSL_PREDICT_TRUE(fds_stream_ == 0 && received_fds_.empty()) &&
        reader_.TakeFrameIf(static_cast<uint8_t>(FrameType::kMessage),
                            stream_id, &request)) {
      NoteCallFrame();
      StartWithRequest(std::move(call), request, {}, ready);
      return true;
    }
    just_opened_ = std::move(call);
  } else {
    // A streaming handler starts now and reads its messages as they come.
    if (end_stream) call->OnHalfClose(ready);
    call->MarkStarted();
    runtime_->CallStarted();
    ready->emplace_back().state = std::move(call);
  }
  return true;
}

const RegisteredMethod* ServerConnection::FindMethodCached(
    absl::string_view full_name) {
  if (last_method_ != nullptr && last_method_->method->full_name == full_name) {
    return last_method_;
  }
  absl::Status unknown;
  const RegisteredMethod* found = runtime_->FindMethod(full_name, &unknown);
  if (found != nullptr) last_method_ = found;
  return found;
}

bool ServerConnection::HandleMessage(const FrameReader::Frame& frame,
                                     ReadyCalls* ready) {
  NoteCallFrame();
  bool fds_over_limit = false;
  std::vector<Fd> fds;
  if (ABSL_PREDICT_FALSE(fds_stream_ != 0))
    fds = TakeMessageFds(&fds_over_limit);
  std::shared_ptr<ServerCallState> call;
  if (just_opened_ != nullptr &&
      just_opened_->stream_id() == frame.header.stream_id) {
    // Its HEADERS came in this read: no lookup. (A call ended meanwhile,
    // by its deadline say, is one a lookup might have found just before
    // it ended: MarkStarted() and EndCall() sort that out either way.)
    call = std::move(just_opened_);
  } else {
    call = FindCall(frame.header.stream_id);
  }
  if (call == nullptr) {
    ReleaseFds(fds.size());
    return true;  // ended or unknown: ignore
  }
  if (ABSL_PREDICT_FALSE(fds_over_limit)) {
    call->Cancel(absl::ResourceExhaustedError(absl::StrCat(
                     "too many file descriptors held by the calls of this "
                     "connection (limit ",
                     runtime_->options().max_fds_per_connection, ")")),
                 /*send_status=*/true);
    return true;
  }
  if (call->starts_with_request()) {
    StartWithRequest(std::move(call), frame, std::move(fds), ready);
    return true;
  }
  if (!call->OnMessage(frame.payload, std::move(fds), ready)) {
    call->Cancel(absl::ResourceExhaustedError(
                     "client sent beyond its flow-control window"),
                 /*send_status=*/true);
    return true;
  }
  if (frame.header.flags & kFlagEndStream) call->OnHalfClose(ready);
  return true;
}

void ServerConnection::StartWithRequest(std::shared_ptr<ServerCallState> call,
                                        const FrameReader::Frame& frame,
                                        std::vector<Fd> fds,
                                        ReadyCalls* ready) {
  // One request only; the call was counted when its HEADERS came.
  if (!call->MarkStarted()) {
    ReleaseFds(fds.size());
    return;
  }
  if (ABSL_PREDICT_FALSE(!fds.empty())) call->SetRequestFds(std::move(fds));
  ServerCall& ready_call = ready->emplace_back();  // (made in place)
  ready_call.state = std::move(call);
  ready_call.request_size = frame.payload.size();
  if (!ready_call.state->KeepSmallRequest(frame.payload)) {
    ready_call.request_offset =
        reader_.DetachPayload(frame, &ready_call.request_buffer);
  }
}

void ServerConnection::SendWindowUpdate(uint32_t stream_id,
                                        uint32_t increment) {
  std::string out;
  AppendWindowUpdateFrame(&out, stream_id, increment);
  Send(std::move(out));
}

std::string ServerConnection::DescribeCredentials() const {
  if (!credentials_.has_value())
    return absl::StrCat(peer_, " (no credentials)");
  return absl::StrCat("uid ", credentials_->uid, " gid ", credentials_->gid,
                      " (pid ", credentials_->pid, ")");
}

void ServerConnection::LogRefusal(Refusal why, absl::string_view line) {
  if (refusals_[static_cast<int>(why)]++ == 0) runtime_->Log(line);
}

void ServerConnection::LogUnloggedRefusals() {
  static constexpr const char* kRefusalNames[kRefusalKinds] = {
      "peer not allowed", "too many calls in flight", "metadata too large",
      "frame too large"};
  uint64_t unlogged = 0;
  std::vector<std::string> kinds;
  {
    MutexLock lock(&read_mu_);
    for (int i = 0; i < kRefusalKinds; ++i) {
      if (refusals_[i] <= 1) continue;
      unlogged += refusals_[i] - 1;
      kinds.push_back(absl::StrCat(kRefusalNames[i], ": ", refusals_[i] - 1));
    }
  }
  if (unlogged == 0) return;
  runtime_->Log(absl::StrCat("connection from ", peer_, " closed after ",
                             unlogged,
                             " more refused calls, not logged one "
                             "by one (",
                             absl::StrJoin(kinds, ", "), ")"));
}

bool ServerConnection::ProtocolError(const absl::Status& why) {
  runtime_->Log(absl::StrCat("connection from ", peer_,
                             " dropped: protocol error: ", why.message()));
  wire::GoAway goaway;
  goaway.set_code(static_cast<uint32_t>(absl::StatusCode::kInternal));
  goaway.set_message(absl::StrCat("protocol error: ", why.message()));
  goaway.set_last_stream_id(last_stream_id_);
  std::string out;
  (void)AppendMessageFrame(&out, FrameType::kGoAway, 0, 0, goaway,
                           kDefaultMaxFrameSize);
  Send(std::move(out));
  return false;
}

void ServerConnection::SendStatus(uint32_t stream_id,
                                  const absl::Status& status) {
  std::string out;
  (void)AppendStatusFrame(&out, stream_id, status, Metadata(),
                          kDefaultMaxFrameSize);
  Send(std::move(out));
}

void ServerConnection::RefuseCall(uint32_t stream_id, const absl::Status& why) {
  if (ServerStats* stats = runtime_->stats(); stats != nullptr) {
    stats->CallRefused(why.code());
  }
  SendStatus(stream_id, why);
}

ConnectionSnapshot ServerConnection::Snapshot() const {
  ConnectionSnapshot snapshot;
  snapshot.id = tag_;
  snapshot.peer = peer_;
  snapshot.credentials = credentials_;
  snapshot.connected_at = connected_at_;
  snapshot.bytes_received = bytes_received();
  snapshot.bytes_sent = bytes_sent();
  MutexLock lock(&calls_mu_);
  snapshot.calls_in_flight = calls_.size();
  return snapshot;
}

void ServerConnection::SendGoAway(const absl::Status& why) {
  // Under read_mu_ up to the write, so that a preface read meanwhile
  // cannot send a second preface, or anything, ahead of this one.
  MutexLock lock(&read_mu_);
  SendGoAwayLocked(why);
}

void ServerConnection::SendGoAwayLocked(const absl::Status& why) {
  wire::GoAway goaway;
  goaway.set_code(static_cast<uint32_t>(why.code()));
  goaway.set_message(std::string(why.message()));
  std::string out;
  if (!preface_sent_) AppendPreface(&out);  // a handshake never completed
  preface_sent_ = true;
  goaway.set_last_stream_id(last_stream_id_);
  (void)AppendMessageFrame(&out, FrameType::kGoAway, 0, 0, goaway,
                           kDefaultMaxFrameSize);
  Send(std::move(out));
}

void ServerConnection::Shutdown() { stream_->Shutdown(); }

}  // namespace sockrpc
