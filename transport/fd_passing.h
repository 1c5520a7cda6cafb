// Passing open descriptors over unix stream sockets (SCM_RIGHTS, unix(7)),
// the way docs/PROTOCOL.md section 16 uses it: the descriptors of one FDS
// frame travel as one control message on the sendmsg() whose data begins
// with that frame, and the receiver tells each batch it gets from
// recvmsg() by the bytes that call returned.
//
// Thread-safety: the free functions are thread-safe (as the socket calls
// they wrap); ReceivedFds is thread-compatible (its owner's lock).
#ifndef SOCKRPC_TRANSPORT_FD_PASSING_H_
#define SOCKRPC_TRANSPORT_FD_PASSING_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/fd.h"

namespace sockrpc {

// The most descriptors one sendmsg() may pass (the kernel's SCM_MAX_FD).
inline constexpr uint32_t kMaxFdsPerMessageLimit = 253;

// WriteSomeWithFds is WriteSome() (transport/socket.h) whose first byte
// carries `fds` (1 to kMaxFdsPerMessageLimit, borrowed: the kernel takes
// references of its own) as one SCM_RIGHTS control message. Returns the
// count of bytes written: 0 means the socket was full and nothing was
// sent, descriptors included; more means the descriptors are on their way
// and the caller may close its copies. EPIPE and the like are UNAVAILABLE;
// a descriptor that is not open is INVALID_ARGUMENT (EBADF); too many
// descriptors in flight for the receiver (ETOOMANYREFS) is
// RESOURCE_EXHAUSTED.
absl::StatusOr<size_t> WriteSomeWithFds(int fd, const struct iovec* iov,
                                        int iov_count,
                                        absl::Span<const int> fds);

// ReadSomeWithFds is ReadSome() (transport/socket.h) with recvmsg() and
// room for kMaxFdsPerMessageLimit descriptors of control data. Descriptors
// that came with the bytes read (close-on-exec) are appended to `*fds`,
// owned. Returns the count read (> 0), 0 at the end of the stream, -1 if
// nothing is there now. Control data cut short (MSG_CTRUNC: the kernel
// closed what did not fit) is INVALID_ARGUMENT, with the descriptors that
// did fit still appended to `*fds` (the caller's to close).
absl::StatusOr<ssize_t> ReadSomeWithFds(int fd, char* buffer, size_t size,
                                        std::vector<Fd>* fds);

// ReceivedFds holds the descriptors a connection has received and not yet
// handed to a message: batches, each with the stream bytes of the
// recvmsg() that brought it. Byte positions are offsets in the stream of
// bytes received after the connection began (0 = the first byte).
//
// PROTOCOL.md section 16.3 fixes the rules checked here: a batch belongs
// to the one FDS frame that begins within the bytes of its read, and has
// exactly that frame's count. So descriptors never pile up unclaimed: a
// batch whose read is parsed past without its FDS frame is an error.
class ReceivedFds {
 public:
  // Records a read of the stream bytes [read_begin, read_end) that brought
  // `fds` (not empty).
  void Add(uint64_t read_begin, uint64_t read_end, std::vector<Fd> fds);

  // Takes the batch of the FDS frame that begins at stream offset
  // `frame_begin` and announces `count` descriptors. INVALID_ARGUMENT
  // (a protocol error: the connection cannot be trusted) when no batch
  // came with the frame or the batch holds another count.
  absl::StatusOr<std::vector<Fd>> Take(uint64_t frame_begin, uint32_t count);

  // Checks that no batch is left behind once every frame that begins
  // before stream offset `parsed` has been handled: INVALID_ARGUMENT if
  // a batch's read ended at or before it. Call after each run of frames.
  absl::Status CheckNoneLeftBefore(uint64_t parsed) const;

  // Descriptors held.
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Closes every descriptor held.
  void Clear();

 private:
  struct Batch {
    uint64_t read_begin;
    uint64_t read_end;
    std::vector<Fd> fds;
  };
  // Oldest first; a vector, as a default std::deque allocates ~1 KiB
  // and every connection has one of these (few batches wait at once).
  std::vector<Batch> batches_;
  size_t count_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FD_PASSING_H_
