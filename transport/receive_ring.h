// ReceiveRing: waits for a socket's next bytes and reads them in one system
// call, through an io_uring of its own.
//
// A waiting reader otherwise makes two: poll() until the socket is
// readable, then recv(). Here one io_uring_enter() submits a receive and
// waits for it to complete, or for a wake-up descriptor (an eventfd other
// threads signal, or an epoll instance that watches other descriptors) to
// become readable, or for a deadline. The client's reader waits for its
// connection so; the server's leader for the one connection it keeps out
// of epoll while that connection alone is busy (server_threads.cc). io_uring's
// wait is woken only by the events asked for: a reader blocked in recv() on a
// unix socket is also woken each time the peer takes in what this side
// wrote (unix_write_space()), which costs a context switch a call.
//
// Invariants and ownership:
// - The ring borrows `wake_fd`, which must outlive it, and each
//   Receive()'s socket for that call.
// - Between Receive() calls no receive is pending: each call completes or
//   cancels its own before it returns, so `space` is never written after.
//   Only the poll of `wake_fd` may stay armed from one call to the next
//   (it holds no memory of the caller's); the destructor's close() ends it.
// - Not thread-safe: one thread at a time (a client connection's reader
//   role, which may be a different thread each time; a server thread's
//   own ring for the solo connection it leads).
//
// Create() returns null where io_uring cannot be used (an old kernel, a
// seccomp filter, io_uring_disabled, RLIMIT_MEMLOCK, ThreadSanitizer, or
// SOCKRPC_IO_URING=0 in the environment); callers then poll() and recv().
#ifndef SOCKRPC_TRANSPORT_RECEIVE_RING_H_
#define SOCKRPC_TRANSPORT_RECEIVE_RING_H_

#include <pthread.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "transport/fd.h"

struct io_uring_params;
struct io_uring_sqe;
struct io_uring_cqe;

namespace sockrpc {

class ReceiveRing {
 public:
  // What one Receive() brought.
  struct Received {
    // > 0: bytes read into the space; 0: the peer closed; -1: none (the
    // wait was woken or timed out, or the receive failed: see `error`).
    ssize_t bytes = -1;
    // The errno of a failed receive (0 if it did not fail).
    int error = 0;
    // Whether `wake_fd` became readable (the caller drains it).
    bool woken = false;
    // Whether the ring itself failed (the kernel refused io_uring_enter();
    // `error` is its errno): the receive may be fine, the ring is not, and
    // a caller that can wait otherwise should drop it.
    bool ring_failed = false;
  };

  // Null if io_uring cannot be used here (see above).
  static std::unique_ptr<ReceiveRing> Create(int wake_fd);

  ReceiveRing(const ReceiveRing&) = delete;
  ReceiveRing& operator=(const ReceiveRing&) = delete;
  ~ReceiveRing();

  // Receives what `socket_fd` has into `space` (not empty), waiting until
  // something arrives, the peer closes, `wake_fd` becomes readable or
  // `deadline` passes. Returns with nothing received if woken or timed
  // out; bytes that arrived meanwhile are returned with `woken` set.
  Received Receive(int socket_fd, absl::Span<char> space, absl::Time deadline);

  // The ring's descriptor (for a forked child to let go of it).
  int fd() const { return ring_fd_.get(); }

 private:
  explicit ReceiveRing(int wake_fd) : wake_fd_(wake_fd) {}

  // Maps the rings of `ring_fd_`; false if that fails.
  bool Map(const io_uring_params& params);
  // The next free submission entry, cleared. Never null: at most four are
  // ever filled and not yet taken (a poll's cancel, the poll, the
  // receive, the receive's cancel), and the ring has eight.
  io_uring_sqe* NextEntry();
  // Queues the receive from `socket_fd` into `space`.
  void QueueReceive(int socket_fd, absl::Span<char> space);
  // Submits what NextEntry() filled and the kernel has not taken, and
  // waits for at least one completion until `deadline` (InfiniteFuture:
  // no limit). 0, or the errno of a failed io_uring_enter(): Transient()
  // ones (try again; entries not taken stay queued) or a ring the kernel
  // refuses.
  int SubmitAndWait(absl::Time deadline);
  static bool Transient(int error);
  // Takes every completion there is, noting what it completed.
  void Reap(Received* received);
  // Cancels the pending receive and waits until its completion is in.
  void CancelReceive(Received* received);

  const int wake_fd_;
  Fd ring_fd_;
  // The mapped rings (one mapping for both queues, one for the entries).
  void* rings_ = nullptr;
  size_t rings_size_ = 0;
  io_uring_sqe* entries_ = nullptr;
  size_t entries_size_ = 0;
  // Pointers into the submission and completion rings.
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* completions_ = nullptr;
  // Entries filled so far; those from the kernel's head on are not taken.
  unsigned filled_ = 0;
  bool receive_pending_ = false;
  // The wake-up poll. A request belongs to the thread that submitted it
  // (its completion runs on that thread, and the thread's exit cancels
  // it), so a poll armed by another thread than the receiving one is
  // cancelled and armed anew; each poll has a generation of its own, and
  // completions of older ones are ignored.
  bool wake_poll_armed_ = false;
  pthread_t wake_poll_owner_{};
  uint64_t wake_generation_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_RECEIVE_RING_H_
