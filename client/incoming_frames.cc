#include "client/incoming_frames.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/frame.h"
#include "transport/socket.h"

namespace sockrpc {

IncomingFrames::IncomingFrames(int fd, std::string target,
                               uint32_t max_frame_size, BufferPool* buffers)
    : fd_(fd), target_(std::move(target)), reader_(max_frame_size, buffers) {}

IncomingFrames::ReadResult IncomingFrames::ReadOnce(absl::Span<char> scratch,
                                                    absl::Status* error) {
  absl::Span<char> space = reader_.PrepareRead(scratch);
  absl::StatusOr<ssize_t> got = ReadSome(fd_, space.data(), space.size());
  if (!got.ok()) {
    *error = absl::UnavailableError(absl::StrCat(
        "connection to ", target_, " failed: ", got.status().message()));
    return ReadResult::kFailed;
  }
  if (*got == 0) {
    *error = absl::UnavailableError(
        absl::StrCat("connection to ", target_, " closed by the server"));
    return ReadResult::kFailed;
  }
  if (*got < 0) return ReadResult::kDrained;
  reader_.CommitRead(static_cast<size_t>(*got));
  return static_cast<size_t>(*got) < space.size() ? ReadResult::kShort
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

void IncomingFrames::NameProtocolError(absl::Status* error) const {
  *error = absl::InternalError(
      absl::StrCat("protocol error from ", target_, ": ", error->message()));
}

}  // namespace sockrpc
