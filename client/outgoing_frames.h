// OutgoingFrames: what a client connection writes, in wire order, and its
// batching policy. Internal to the client.
//
// Our preface goes first, once. Stream ids are handed out here so that
// they rise in the order calls reach the wire. With
// ChannelOptions::batch_call_starts, the opening frames of a call may be
// held (HoldCall()) instead of written; every later write sends what is
// held first, in the same system call, so held calls keep their order.
// Two ways to write:
// - WriteAll() writes whole, waiting for socket room until a deadline (a
//   blocking caller);
// - WriteNoWait() writes what the socket takes now and holds the rest (the
//   event loop and callback calls, which never wait).
// Either way a partly written frame stays at the front of what is held, so
// the byte stream stays sound; after an error nothing is kept and the
// connection must be failed by the caller.
//
// Not thread-safe: the connection calls everything under its write_mu_,
// except has_held(), which any thread may read without a lock.
#ifndef SOCKRPC_CLIENT_OUTGOING_FRAMES_H_
#define SOCKRPC_CLIENT_OUTGOING_FRAMES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "transport/fd.h"
#include "transport/socket.h"
#include "transport/tls_session.h"

namespace sockrpc {

class OutgoingFrames {
 public:
  // `fd`: the connection's socket, borrowed. `batch_call_starts`: the
  // channel's option; `unix_socket` picks the policy's thresholds.
  // `max_fds_per_message`, if not 0, is announced in a SETTINGS frame
  // right after the preface (PROTOCOL.md section 16.2).
  OutgoingFrames(int fd, bool batch_call_starts, bool unix_socket,
                 uint32_t max_fds_per_message = 0);

  OutgoingFrames(const OutgoingFrames&) = delete;
  OutgoingFrames& operator=(const OutgoingFrames&) = delete;

  // Writes go through `session` (TLS over the socket; borrowed, outlives
  // this) rather than to the socket. Before the first write.
  void UseTls(TlsSession* session) { tls_ = session; }

  // True once our preface is written or held.
  bool preface_sent() const { return preface_sent_; }

  // The id of the next call.
  uint32_t TakeStreamId() { return next_stream_id_++; }
  // True once the last id is taken: the connection must then go away and
  // take no more calls.
  bool stream_ids_used_up() const { return next_stream_id_ == 0x7fffffff; }

  // The batching policy: whether a call start of `size` bytes should be
  // held, with `others` other calls in flight (the held ones included).
  // A call is held only while the server has enough of our calls to answer
  // to stay busy, and at least twice as many as are held, up to a bound on
  // held bytes. When it says yes, has_held() is true from then on, before
  // the frames are held: a thread that checks has_held() before waiting
  // flushes them rather than wait for a reply to a call never sent.
  bool DecideToHold(size_t others, size_t size);
  // The same policy, whatever batch_call_starts says, for a call started
  // on the event loop (whose held calls go out at the end of its turn,
  // so that nothing waits on them).
  bool DecideToHoldForLoop(size_t others, size_t size);
  // Holds a call's opening frames (after the preface, if due).
  void HoldCall(absl::string_view frames);

  // Whether bytes are held (or about to be); any thread, no lock.
  bool has_held() const { return has_held_.load(std::memory_order_relaxed); }
  // Whether bytes are held; under the connection's write_mu_.
  bool held_empty() const { return held_.empty(); }

  // Writes the preface if due, what is held, then `bytes`, whole, waiting
  // for socket room until `deadline`. *written counts the bytes of `bytes`
  // that went out. Out of time, what is left of the held bytes stays held;
  // the byte stream is still sound if `bytes` went out whole or not at all.
  absl::Status WriteAll(absl::string_view bytes, absl::Time deadline,
                        size_t* written);

  // Writes the preface if due, what is held, then `bytes` as far as the
  // socket takes them now; the rest of `bytes` is held. *written counts the
  // bytes of `bytes` that went into the socket.
  absl::Status WriteNoWait(absl::string_view bytes, size_t* written);

  // WriteAll() whose bytes from `fds_offset` on (an FDS frame) carry `fds`
  // (PROTOCOL.md section 16.3): everything before goes out first, then a
  // write that begins there passes them. *written as for WriteAll(); 0
  // means nothing of `bytes` went out, descriptors included.
  absl::Status WriteAllWithFds(absl::string_view bytes, size_t fds_offset,
                               absl::Span<const int> fds, absl::Time deadline,
                               size_t* written);

  // WriteNoWait() whose bytes from `fds_offset` on (an FDS frame) carry
  // `fds` (owned): what the socket does not take now is held with a mark
  // at the FDS frame, and the write of held bytes that begins there passes
  // them (every later write, WriteAll() and WriteNoWait() included, writes
  // held bytes up to a mark, then from it with its descriptors). *written
  // as for WriteNoWait(). After an error, held descriptors are closed.
  absl::Status WriteNoWaitWithFds(absl::string_view bytes, size_t fds_offset,
                                  std::vector<Fd> fds, size_t* written);

 private:
  // Holds our preface (and SETTINGS) before the first bytes that go out.
  void HoldPrefaceIfDue() {
    if (ABSL_PREDICT_FALSE(!preface_sent_)) HoldPreface();
  }
  void HoldPreface();
  // Writes one run of held_: up to the first mark, or from the first mark
  // (passing its descriptors) up to the next; the count written (0: the
  // socket is full).
  absl::StatusOr<size_t> WriteHeldRun();
  // Writes held_ while the socket takes it; with a deadline, waits for
  // room until it is all out. Only while marks exist.
  absl::Status FlushMarkedNoWait();
  absl::Status FlushMarked(absl::Time deadline);
  // Drops `n` written bytes from the front of held_, moving the marks.
  void ConsumeHeld(size_t n);
  // After a write error: nothing is kept, descriptors close.
  void DropHeld();
  // After a write: no call is held whole any more (what is left is partly
  // written), and has_held() tells whether bytes are.
  void AfterWrite();

  // WriteSome() on the socket, or the TLS session's Write().
  absl::StatusOr<size_t> WriteOut(const struct iovec* iov, int iov_count) {
    return ABSL_PREDICT_FALSE(tls_ != nullptr) ? tls_->Write(iov, iov_count)
                                               : WriteSome(fd_, iov, iov_count);
  }

  const int fd_;
  TlsSession* tls_ = nullptr;
  const bool batch_call_starts_;
  const size_t min_unanswered_to_hold_;
  const uint32_t max_fds_per_message_;

  bool preface_sent_ = false;
  uint32_t next_stream_id_ = 1;
  // Bytes not yet written, in wire order; starts with the preface if that
  // is held.
  std::string held_;
  // Calls whose frames are all in held_ (batching).
  size_t held_calls_ = 0;
  // Descriptors to pass with the held bytes: each with the offset in
  // held_ of its FDS frame, rising. Empty but for callback calls' messages
  // with descriptors that met a full socket.
  struct Mark {
    size_t offset;
    std::vector<Fd> fds;
  };
  // A vector (a few marks at a time): an empty std::deque allocates ~1 KiB,
  // and every connection has this.
  std::vector<Mark> marks_;
  // Set when a call is to be held, cleared when held_ empties.
  std::atomic<bool> has_held_{false};
};

}  // namespace sockrpc

#endif  // SOCKRPC_CLIENT_OUTGOING_FRAMES_H_
