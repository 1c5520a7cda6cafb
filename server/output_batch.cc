// Holding a connection's output back: corks (a batch of unary calls read
// at once) and output batches (server/output_batch.h), both of which end
// in one write of what was held.
#include "server/output_batch.h"

#include <utility>

#include "server/server_connection.h"

namespace sockrpc {

thread_local OutputBatch* OutputBatch::current_ = nullptr;

OutputBatch::OutputBatch() : outermost_(current_ == nullptr) {
  if (outermost_) current_ = this;
}

OutputBatch::~OutputBatch() {
  if (!outermost_) return;
  // Writes from here on (none expected) go out at once.
  current_ = nullptr;
  for (const std::shared_ptr<ServerConnection>& connection : connections_) {
    connection->EndBatch();
  }
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
