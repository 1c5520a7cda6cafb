// A connection's output: a reply goes out in one write when the socket
// takes it; what it does not take waits in pending_output_ for EPOLLOUT
// (bounded by max_write_buffer). Corks (a batch of unary calls read at
// once) and output batches (server/output_batch.h) hold frames back so
// that they leave in one write. Everything here runs under write_mu_.
#include <sys/uio.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/output_batch.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"

namespace sockrpc {

std::string ServerConnection::TakeBuffer() {
  std::string buffer = runtime_->buffers().Take();
  buffer.clear();
  return buffer;
}

void ServerConnection::GiveBuffer(std::string buffer) {
  runtime_->buffers().Give(std::move(buffer));
}

void ServerConnection::Send(std::string frames) {
  MutexLock lock(&write_mu_);
  SendLocked(std::move(frames));
}

void ServerConnection::SendCopy(absl::string_view frames) {
  MutexLock lock(&write_mu_);
  if (write_failed_) return;
  OutputBatch* batch = OutputBatch::Current();
  if (ABSL_PREDICT_FALSE(!pending_output_.empty() ||
                         (corks_ > 0 && !cork_broken_) ||
                         (batch != nullptr && !batch->LetsWriteThrough()))) {
    // It must wait, or be held: as Send() would.
    std::string copy = TakeBuffer();
    copy.append(frames.data(), frames.size());
    SendLocked(std::move(copy));
    return;
  }
  iovec iov{const_cast<char*>(frames.data()), frames.size()};
  absl::StatusOr<size_t> written = stream_->Write(&iov, 1);
  if (!written.ok()) {
    write_failed_ = true;  // as in SendLocked()
    stream_->Shutdown();
    return;
  }
  bytes_sent_.Add(*written);
  if (*written == frames.size()) return;
  std::string rest = TakeBuffer();
  rest.append(frames.data() + *written, frames.size() - *written);
  QueueLocked(std::move(rest));
  WatchWritableLocked();
}

void ServerConnection::SendLocked(std::string frames) {
  if (write_failed_) return;
  if (HoldForBatchLocked(&frames)) return;
  if (corks_ > 0 && !cork_broken_) {
    // Held back for one write at Uncork(); but large replies gain nothing
    // from waiting, and must not pile up: past kMaxHeldBytes, write.
    QueueLocked(std::move(frames));
    if (pending_output_.size() - pending_offset_ >= kMaxHeldBytes) {
      FlushLocked();
      WatchWritableLocked();
    }
    return;
  }
  if (!pending_output_.empty()) {
    QueueLocked(std::move(frames));  // behind what waits for EPOLLOUT
    return;
  }
  iovec iov{&frames[0], frames.size()};
  absl::StatusOr<size_t> written = stream_->Write(&iov, 1);
  if (!written.ok()) {
    // The peer is gone; the reader will see the close and clean up.
    write_failed_ = true;
    stream_->Shutdown();
    return;
  }
  bytes_sent_.Add(*written);
  if (*written == frames.size()) {
    runtime_->buffers().Give(std::move(frames));
    return;
  }
  // Keep the rest where it is: the buffer itself becomes the pending
  // output (no copy), flushed on EPOLLOUT.
  QueueLocked(std::move(frames));
  pending_offset_ = *written;
  WatchWritableLocked();
}

void ServerConnection::QueueLocked(std::string frames) {
  if (pending_output_.empty()) {
    runtime_->buffers().Give(std::move(pending_output_));
    pending_output_ = std::move(frames);
    pending_offset_ = 0;
    return;
  }
  const size_t waiting = pending_output_.size() - pending_offset_;
  if (waiting + frames.size() > runtime_->options().max_write_buffer) {
    // The client does not read what it asked for: cut it off rather than
    // buffer without end. The reader sees the close and cleans up.
    runtime_->Log(absl::StrCat("connection from ", peer_,
                               " dropped: it does not read its replies (",
                               waiting, " bytes waiting)"));
    write_failed_ = true;
    ReleaseOutputLocked();
    stream_->Shutdown();
    return;
  }
  pending_output_.append(frames);
  runtime_->buffers().Give(std::move(frames));
}

void ServerConnection::FlushOutput() {
  MutexLock lock(&write_mu_);
  FlushLocked();
  WatchWritableLocked();
}

void ServerConnection::SendWithFds(std::string frames, size_t fds_offset,
                                   std::vector<Fd> fds) {
  MutexLock lock(&write_mu_);
  if (write_failed_) return;  // the descriptors close here
  const size_t base = pending_output_.empty() ? 0 : pending_output_.size();
  QueueLocked(std::move(frames));
  if (write_failed_) return;
  pending_fds_.push_back(PendingFds{base + fds_offset, std::move(fds)});
  // Written now, corked or not: a message with descriptors is rare, and
  // its descriptors are best not held.
  FlushLocked();
  WatchWritableLocked();
}

void ServerConnection::FlushLocked() {
  while (pending_offset_ < pending_output_.size() && !write_failed_) {
    // A write never runs past the next descriptors' offset, and one that
    // begins there carries them.
    size_t end = pending_output_.size();
    const bool carries =
        !pending_fds_.empty() && pending_fds_.front().offset == pending_offset_;
    const size_t next = carries ? 1 : 0;
    if (pending_fds_.size() > next) end = pending_fds_[next].offset;
    iovec iov{&pending_output_[pending_offset_], end - pending_offset_};
    absl::StatusOr<size_t> written;
    if (ABSL_PREDICT_FALSE(carries)) {
      std::vector<int> fds;
      for (const Fd& fd : pending_fds_.front().fds) fds.push_back(fd.get());
      written = stream_->WriteWithFds(&iov, 1, fds);
    } else {
      written = stream_->Write(&iov, 1);
    }
    if (!written.ok()) {
      runtime_->Log(absl::StrCat("connection from ", peer_,
                                 " closed: ", written.status().message()));
      write_failed_ = true;
      ReleaseOutputLocked();
      stream_->Shutdown();
      return;
    }
    if (*written == 0) return;  // the socket is full: wait for EPOLLOUT
    bytes_sent_.Add(*written);
    // Passed: the peer holds its own references; ours close.
    if (carries) pending_fds_.erase(pending_fds_.begin());
    pending_offset_ += *written;
  }
  ReleaseOutputLocked();
}

void ServerConnection::ReleaseOutputLocked() {
  pending_fds_.clear();  // unsent descriptors close: the write failed
  pending_offset_ = 0;
  pending_output_.clear();
  runtime_->buffers().Give(std::move(pending_output_));
  std::string().swap(pending_output_);
}

void ServerConnection::WatchWritableLocked() {
  const bool output_waits =
      !write_failed_ && pending_offset_ < pending_output_.size();
  if (output_waits == watching_writable_) return;
  watching_writable_ = output_waits;
  UpdateWatchLocked();
}

void ServerConnection::UpdateWatchLocked() {
  runtime_->WatchConnection(*this, /*readable=*/!solo_, watching_writable_);
}

void ServerConnection::Cork() {
  MutexLock lock(&write_mu_);
  ++corks_;
}

void ServerConnection::Uncork() {
  MutexLock lock(&write_mu_);
  if (--corks_ > 0) return;
  cork_broken_ = false;
  FlushLocked();
  WatchWritableLocked();
}

void ServerConnection::BreakCork() {
  MutexLock lock(&write_mu_);
  if (corks_ == 0 || cork_broken_) return;
  cork_broken_ = true;
  FlushLocked();
  WatchWritableLocked();
}

bool ServerConnection::HoldForBatchLocked(std::string* frames) {
  OutputBatch* batch = OutputBatch::Current();
  if (batch == nullptr) return false;
  // The batch's first write goes on, unless it would overtake output held
  // already.
  if (batch->LetsWriteThrough() && pending_output_.empty()) return false;
  QueueLocked(std::move(*frames));
  if (!in_batch_) {
    in_batch_ = true;
    batch->Enlist(shared_from_this());
  }
  if (pending_output_.size() - pending_offset_ >= kMaxHeldBytes) {
    FlushLocked();
    WatchWritableLocked();
  }
  return true;
}

void ServerConnection::EndBatch() {
  MutexLock lock(&write_mu_);
  in_batch_ = false;
  if (corks_ > 0 && !cork_broken_) return;  // Uncork() writes it
  FlushLocked();
  WatchWritableLocked();
}

}  // namespace sockrpc
