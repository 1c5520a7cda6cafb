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

}  // namespace sockrpc
