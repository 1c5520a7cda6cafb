#include "client/incoming_frames.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sockrpc/wire.pb.h"
#include "transport/fd_passing.h"
#include "transport/frame.h"
#include "transport/posix_error.h"
#include "transport/socket.h"

namespace sockrpc {

IncomingFrames::IncomingFrames(int fd, std::string target,
                               uint32_t max_frame_size, BufferPool* buffers,
                               uint32_t max_fds_per_message)
    : fd_(fd),
      target_(std::move(target)),
      reader_(max_frame_size, buffers),
      max_fds_(std::min(max_fds_per_message, kMaxFdsPerMessageLimit)) {}

IncomingFrames::ReadResult IncomingFrames::ReadOnce(absl::Span<char> scratch,
                                                    absl::Status* error) {
  absl::Span<char> space = reader_.PrepareRead(scratch);
  std::vector<Fd> fds;
  absl::StatusOr<ssize_t> got =
      ABSL_PREDICT_FALSE(max_fds_ > 0)
          ? ReadSomeWithFds(fd_, space.data(), space.size(), &fds)
      : ABSL_PREDICT_FALSE(tls_ != nullptr)
          ? tls_->Read(space.data(), space.size())
          : ReadSome(fd_, space.data(), space.size());
  if (ABSL_PREDICT_FALSE(!got.ok())) {
    *error = got.status();
    if (absl::IsInvalidArgument(*error)) {
      NameProtocolError(error);  // descriptors cut short
    } else {
      *error = ReadError(error->message());
    }
    return ReadResult::kFailed;
  }
  return Commit(*got, space, &fds, error);
}

IncomingFrames::ReadResult IncomingFrames::ReceiveOnce(ReceiveRing& ring,
                                                       absl::Span<char> scratch,
                                                       absl::Time deadline,
                                                       bool* woken,
                                                       absl::Status* error) {
  absl::Span<char> space = reader_.PrepareRead(scratch);
  const ReceiveRing::Received received = ring.Receive(fd_, space, deadline);
  *woken = received.woken;
  if (ABSL_PREDICT_FALSE(received.ring_failed)) return ReadResult::kRingFailed;
  if (ABSL_PREDICT_FALSE(received.error != 0)) {
    *error = ReadError(absl::StrCat("read: ", ErrnoText(received.error)));
    return ReadResult::kFailed;
  }
  return Commit(received.bytes, space, nullptr, error);
}

absl::Status IncomingFrames::ReadError(absl::string_view what) const {
  return absl::UnavailableError(
      absl::StrCat("connection to ", target_, " failed: ", what));
}

IncomingFrames::ReadResult IncomingFrames::Commit(ssize_t got,
                                                  absl::Span<char> space,
                                                  std::vector<Fd>* fds,
                                                  absl::Status* error) {
  if (got == 0) {
    *error = absl::UnavailableError(
        absl::StrCat("connection to ", target_, " closed by the server"));
    return ReadResult::kFailed;
  }
  if (got < 0) return ReadResult::kDrained;
  reader_.CommitRead(static_cast<size_t>(got));
  if (ABSL_PREDICT_FALSE(fds != nullptr && !fds->empty())) {
    received_fds_.Add(bytes_received_,
                      bytes_received_ + static_cast<uint64_t>(got),
                      std::move(*fds));
  }
  bytes_received_ += static_cast<uint64_t>(got);
  return static_cast<size_t>(got) < space.size() ? ReadResult::kShort
                                                 : ReadResult::kFull;
}

bool IncomingFrames::TakePreface(absl::Status* error) {
  absl::string_view preface;
  if (!reader_.TakePreface(&preface)) return false;
  absl::Status valid = CheckPreface(preface);
  if (!valid.ok()) {
    *error = absl::UnavailableError(
        absl::StrCat("server at ", target_,
                     " did not answer as a sockrpc server: ", valid.message()));
    return false;
  }
  preface_received_ = true;
  return true;
}

absl::Status IncomingFrames::TakeFds(const FrameReader::Frame& frame) {
  absl::Status error;
  wire::FdsHeader header;
  if (max_fds_ == 0) {
    error = absl::InvalidArgumentError(
        "FDS frame, but this client accepts no file descriptors");
  } else if (!header.ParseFromArray(frame.payload.data(),
                                    static_cast<int>(frame.payload.size()))) {
    error = absl::InvalidArgumentError("FDS payload does not parse");
  } else if (header.count() == 0 || header.count() > max_fds_) {
    error = absl::InvalidArgumentError(absl::StrCat(
        "FDS frame announces ", header.count(), " descriptors; 1 to ", max_fds_,
        " may come with a message"));
  } else {
    absl::StatusOr<std::vector<Fd>> fds =
        received_fds_.Take(frame_begin_, header.count());
    if (fds.ok()) {
      fds_stream_ = frame.header.stream_id;
      fds_for_message_ = *std::move(fds);
      return absl::OkStatus();
    }
    error = fds.status();
  }
  NameProtocolError(&error);
  return error;
}

bool IncomingFrames::FdsFollowedBy(const FrameHeader& header,
                                   absl::Status* error) {
  if (header.type == static_cast<uint8_t>(FrameType::kMessage) &&
      header.stream_id == fds_stream_) {
    return true;
  }
  *error = absl::InvalidArgumentError(
      absl::StrCat("FDS frame for stream ", fds_stream_, " followed by a ",
                   FrameTypeName(header.type), " frame of stream ",
                   header.stream_id, " instead of its MESSAGE"));
  NameProtocolError(error);
  TakeMessageFds();  // closed
  return false;
}

void IncomingFrames::NameProtocolError(absl::Status* error) const {
  *error = absl::InternalError(
      absl::StrCat("protocol error from ", target_, ": ", error->message()));
}

}  // namespace sockrpc
