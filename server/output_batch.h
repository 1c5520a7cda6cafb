// OutputBatch: replies written while a server thread runs callback code
// leave in one write per connection. Internal to the server runtime.
//
// A reaction (or a callback method) may start writes on many calls: a
// publisher's one event to 10,000 subscribers over 100 connections. Each
// write going out as it is started would cost a system call per
// subscriber. Instead, while an OutputBatch lives on a thread,
// ServerConnection::Send() on that thread only queues the frames (in the
// connection's pending output, where they keep their order with anybody
// else's) and enlists the connection here; when the outermost batch of the
// thread ends, each enlisted connection writes what it holds at once:
// 100 writes, not 10,000.
//
// Batches are opened only around code that must not block (callback
// methods and reactions, server/server_callback.h), so output is held for
// as long as that code runs, no longer. A blocking handler is never run
// inside one: its writes go out as it makes them. A connection also writes
// once it holds 64 KiB, as a corked one does (kMaxHeldBytes).
//
// Most callback code writes once: a unary method's reply and STATUS, in one
// Finish(). Holding that write would only cost a copy into the connection's
// buffer and a later flush, so a batch lets the thread's first write out at
// once (when the connection holds no output it would overtake) and holds
// from the second on. That holds for a batch around many calls too (the
// callback calls one read brought together, ServerRuntime::RunCalls()): the
// first reply going out at once sets the client going while the rest are made
// (64 calls in flight: ~1.4M calls/s, against ~1.25M holding the first as
// well).
//
// The thread's current batch is a thread_local pointer to a stack object,
// set and cleared by the outermost batch of the thread (inner ones are
// no-ops): per-thread scope, not shared state.
#ifndef SOCKRPC_SERVER_OUTPUT_BATCH_H_
#define SOCKRPC_SERVER_OUTPUT_BATCH_H_

#include <memory>

#include "absl/container/inlined_vector.h"

namespace sockrpc {

class ServerConnection;

class OutputBatch {
 public:
  OutputBatch();
  // Writes the output of every enlisted connection (the outermost batch).
  ~OutputBatch();
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;

  // The batch of the calling thread, or null.
  static OutputBatch* Current() { return current_; }

  // For ServerConnection::Send(): whether the write being sent is the
  // batch's first, which may go out at once. The first question answers
  // yes, every later one no; the caller asks only for a write it could
  // send at once (a write it must hold anyway uses the answer up too).
  bool LetsWriteThrough() {
    const bool passes = first_passes_;
    first_passes_ = false;
    return passes;
  }

  // For ServerConnection::Send(): `connection` holds output for this batch
  // to write. Once per connection per batch.
  void Enlist(std::shared_ptr<ServerConnection> connection) {
    connections_.push_back(std::move(connection));
  }

 private:
  static thread_local OutputBatch* current_;

  const bool outermost_;
  bool first_passes_ = true;
  absl::InlinedVector<std::shared_ptr<ServerConnection>, 4> connections_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_OUTPUT_BATCH_H_
