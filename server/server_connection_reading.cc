// ServerConnection's reads: what an epoll event or the leader's ring
// (a solo connection, server_threads.cc) brought, read on while reads come
// back full, then cut into frames (ProcessFrames(), server_connection.cc);
// and going solo.
#include <sys/epoll.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"
#include "transport/posix_error.h"

namespace sockrpc {
namespace {

// Reads per event before the connection yields its thread to others.
constexpr int kMaxReadsPerEvent = 16;

// Reads go into this much space on the reading thread's stack first, so
// that a connection needs no buffer of its own for frames that arrive
// whole (see FrameReader).
constexpr size_t kReadScratchSize = 16 * 1024;

}  // namespace

bool ServerConnection::OnEvent(const std::shared_ptr<ServerConnection>& self,
                               uint32_t events, ReadyCalls* ready) {
  if (events & EPOLLOUT) FlushOutput();
  if ((events & ~uint32_t{EPOLLOUT}) == 0) return true;  // nothing to read
  char scratch[kReadScratchSize];
  MutexLock lock(&read_mu_);
  return ReadAndProcess(self, ready, absl::MakeSpan(scratch), nullptr);
}

bool ServerConnection::OnReceived(const std::shared_ptr<ServerConnection>& self,
                                  const ReceiveRing::Received& received,
                                  absl::Span<char> scratch, ReadyCalls* ready) {
  MutexLock lock(&read_mu_);
  return ReadAndProcess(self, ready, scratch, &received);
}

bool ServerConnection::CanGoSolo() const {
  if (fd() < 0 || accepts_fds_ || !stream_->ReadsAsRecv()) return false;
  MutexLock lock(&read_mu_);
  return preface_received_ && reader_.buffered() == 0;
}

void ServerConnection::SetSolo(bool solo) {
  MutexLock lock(&write_mu_);
  if (solo_ == solo) return;
  solo_ = solo;
  UpdateWatchLocked();
}

absl::StatusOr<ssize_t> ServerConnection::TakeReceived(
    const ReceiveRing::Received& received, absl::Span<char> scratch,
    absl::Span<char>* space) {
  if (received.error != 0) {
    return absl::UnavailableError(
        absl::StrCat("read: ", ErrnoText(received.error)));
  }
  if (received.bytes > 0 && space->data() != scratch.data()) {
    // The reader keeps part of a frame in its own buffer: the bytes go on
    // from there (a copy of one scratch's worth at most).
    const size_t size = static_cast<size_t>(received.bytes);
    *space = reader_.PrepareRead(size);
    std::memcpy(space->data(), scratch.data(), size);
  }
  return received.bytes;
}

bool ServerConnection::ReadAndProcess(
    const std::shared_ptr<ServerConnection>& self, ReadyCalls* ready,
    absl::Span<char> scratch, const ReceiveRing::Received* received) {
  // The reader may keep bytes in `scratch` until EndReads().
  absl::Cleanup end_reads = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    reader_.EndReads();
    just_opened_.reset();
  };
  // (Past kMaxReadsPerEvent only while a TLS stream holds input that epoll
  // would not report.)
  for (int i = 0; i < kMaxReadsPerEvent || stream_->HasBufferedInput(); ++i) {
    absl::Span<char> space = reader_.PrepareRead(scratch);
    // What the read could have filled: `space`, or the ring's `scratch`.
    size_t asked = space.size();
    std::vector<Fd> fds;
    absl::StatusOr<ssize_t> got;
    if (received != nullptr) {
      got = TakeReceived(*received, scratch, &space);
      asked = scratch.size();
      received = nullptr;
    } else if (ABSL_PREDICT_FALSE(accepts_fds_)) {
      got = stream_->ReadWithFds(space.data(), space.size(), &fds);
    } else {
      got = stream_->Read(space.data(), space.size());
    }
    if (ABSL_PREDICT_FALSE(!got.ok() &&
                           absl::IsInvalidArgument(got.status()))) {
      return ProtocolError(got.status());  // descriptors cut short
    }
    if (!got.ok()) {
      runtime_->Log(absl::StrCat("connection from ", peer_,
                                 " closed: ", got.status().message()));
      return false;
    }
    if (*got == 0) {
      // A peer that closes without sending a byte is ordinary (for example
      // another server checking whether this socket is live): no log.
      if (reader_.buffered() > 0) {
        runtime_->Log(
            absl::StrCat("connection from ", peer_, " closed by the peer ",
                         preface_received_ ? "in the middle of a frame"
                                           : "before completing its preface"));
      }
      return false;
    }
    if (*got < 0) break;  // drained
    last_read_nanos_ = MonotonicNanos();
    reader_.CommitRead(static_cast<size_t>(*got));
    NoteRead(static_cast<size_t>(*got), &fds);
    if (!ProcessFrames(self, ready)) return false;
    // A short read means the socket is most likely drained: skip the
    // extra read that would only say EAGAIN. Epoll reports anything new.
    if (static_cast<size_t>(*got) < asked) break;
  }
  return true;
}

}  // namespace sockrpc
