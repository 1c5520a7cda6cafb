#include "transport/receive_ring.h"

#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/base/optimization.h"
#include "absl/time/clock.h"
#include "transport/direct_syscalls.h"
#include "transport/thread_sanitizer.h"

namespace sockrpc {
namespace {

// Completions are told apart by user_data: a kind in the low byte, and
// for wake-up polls their generation above it.
constexpr uint64_t kReceiveTag = 1;
constexpr uint64_t kWakeKind = 2;
constexpr uint64_t kCancelTag = 3;
uint64_t WakeTag(uint64_t generation) { return kWakeKind | generation << 8; }

// Twice what is ever filled and not yet taken (see NextEntry()).
constexpr unsigned kRingEntries = 8;

template <typename T>
T LoadAcquire(const T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
void StoreRelease(T* p, T value) {
  __atomic_store_n(p, value, __ATOMIC_RELEASE);
}

// Whether the environment turns io_uring off (SOCKRPC_IO_URING=0).
bool DisabledByEnvironment() {
  const char* setting = std::getenv("SOCKRPC_IO_URING");
  return setting != nullptr && std::strcmp(setting, "0") == 0;
}

}  // namespace

std::unique_ptr<ReceiveRing> ReceiveRing::Create(int wake_fd) {
#ifdef SOCKRPC_THREAD_SANITIZER
  // TSan orders a send before the receive that gets it through its
  // interceptors of the libc calls; it cannot see a receive the kernel
  // completes into the ring.
  (void)wake_fd;
  return nullptr;
#else
  if (DisabledByEnvironment()) return nullptr;
  io_uring_params params{};
  const long fd = ::syscall(SYS_io_uring_setup, kRingEntries, &params);
  if (fd < 0) return nullptr;  // ENOSYS, EPERM, ENOMEM...
  std::unique_ptr<ReceiveRing> ring(new ReceiveRing(wake_fd));
  ring->ring_fd_ = Fd(static_cast<int>(fd));
  // One mapping for both queues (5.4) and waits with a timeout in the same
  // call (5.11).
  const unsigned needed = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_EXT_ARG;
  if ((params.features & needed) != needed || !ring->Map(params)) {
    return nullptr;
  }
  return ring;
#endif
}

bool ReceiveRing::Map(const io_uring_params& params) {
  rings_size_ = std::max<size_t>(
      params.sq_off.array + params.sq_entries * sizeof(unsigned),
      params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe));
  void* rings =
      ::mmap(nullptr, rings_size_, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_POPULATE, ring_fd_.get(), IORING_OFF_SQ_RING);
  if (rings == MAP_FAILED) return false;
  rings_ = rings;
  entries_size_ = params.sq_entries * sizeof(io_uring_sqe);
  void* entries =
      ::mmap(nullptr, entries_size_, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_POPULATE, ring_fd_.get(), IORING_OFF_SQES);
  if (entries == MAP_FAILED) return false;
  entries_ = static_cast<io_uring_sqe*>(entries);
  // A forked child never uses the ring (it lets go of its descriptor):
  // its mappings would keep the parent's ring alive there.
  (void)::madvise(rings_, rings_size_, MADV_DONTFORK);
  (void)::madvise(entries_, entries_size_, MADV_DONTFORK);
  char* base = static_cast<char*>(rings_);
  sq_head_ = reinterpret_cast<unsigned*>(base + params.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(base + params.sq_off.tail);
  sq_mask_ = *reinterpret_cast<unsigned*>(base + params.sq_off.ring_mask);
  cq_head_ = reinterpret_cast<unsigned*>(base + params.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(base + params.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(base + params.cq_off.ring_mask);
  completions_ = reinterpret_cast<io_uring_cqe*>(base + params.cq_off.cqes);
  // Submission slot i always holds entry i.
  unsigned* array = reinterpret_cast<unsigned*>(base + params.sq_off.array);
  for (unsigned i = 0; i < params.sq_entries; ++i) array[i] = i;
  filled_ = *sq_tail_;
  return true;
}

ReceiveRing::~ReceiveRing() {
  // No receive is pending (see the header); closing the ring ends the
  // wake-up poll.
  if (entries_ != nullptr) ::munmap(entries_, entries_size_);
  if (rings_ != nullptr) ::munmap(rings_, rings_size_);
}

io_uring_sqe* ReceiveRing::NextEntry() {
  io_uring_sqe* entry = &entries_[filled_ & sq_mask_];
  std::memset(entry, 0, sizeof(*entry));
  ++filled_;
  return entry;
}

void ReceiveRing::QueueReceive(int socket_fd, absl::Span<char> space) {
  io_uring_sqe* receive = NextEntry();
  receive->opcode = IORING_OP_RECV;
  receive->fd = socket_fd;
  receive->addr = reinterpret_cast<uint64_t>(space.data());
  receive->len =
      static_cast<uint32_t>(std::min<size_t>(space.size(), uint32_t{1} << 30));
  receive->user_data = kReceiveTag;
  receive_pending_ = true;
}

bool ReceiveRing::Transient(int error) {
  return error == EINTR || error == ETIME || error == EAGAIN ||
         error == ENOMEM || error == EBUSY;
}

int ReceiveRing::SubmitAndWait(absl::Time deadline) {
  StoreRelease(sq_tail_, filled_);
  const unsigned submitting = filled_ - LoadAcquire(sq_head_);
  __kernel_timespec timeout{};
  io_uring_getevents_arg arg{};
  arg.sigmask = 0;
  arg.sigmask_sz = _NSIG / 8;
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left =
        std::max(deadline - absl::Now(), absl::ZeroDuration());
    const timespec spec = absl::ToTimespec(left);
    timeout.tv_sec = spec.tv_sec;
    timeout.tv_nsec = spec.tv_nsec;
    arg.ts = reinterpret_cast<uint64_t>(&timeout);
  }
  // The kernel takes entries before it waits, and then reports how many
  // it took even if the wait timed out or was interrupted; it fails the
  // call only if it took none. Entries it did not take stay between its
  // head and our tail, for the next call.
  const long result = direct::Syscall6(
      SYS_io_uring_enter, ring_fd_.get(), submitting, /*min_complete=*/1,
      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, direct::Arg(&arg),
      sizeof(arg));
  return result >= 0 ? 0 : errno;
}

void ReceiveRing::Reap(Received* received) {
  unsigned head = *cq_head_;
  const unsigned tail = LoadAcquire(cq_tail_);
  for (; head != tail; ++head) {
    const io_uring_cqe& completion = completions_[head & cq_mask_];
    if (completion.user_data == kReceiveTag) {
      receive_pending_ = false;
      if (completion.res >= 0) {
        received->bytes = completion.res;
      } else if (completion.res != -ECANCELED && completion.res != -EINTR &&
                 completion.res != -EAGAIN) {
        // (Cancelled, interrupted or nothing there: no bytes, no error.)
        received->error = -completion.res;
      }
    } else if (completion.user_data == WakeTag(wake_generation_)) {
      // The current poll ended: signalled, or cancelled (its thread
      // exited). Either way the caller looks, and a look that finds
      // nothing costs one look (a read of the eventfd, an epoll_wait).
      wake_poll_armed_ = false;
      received->woken = true;
    }
    // Else a cancel's own completion, or an older poll's: nothing.
  }
  StoreRelease(cq_head_, head);
}

ReceiveRing::Received ReceiveRing::Receive(int socket_fd,
                                           absl::Span<char> space,
                                           absl::Time deadline) {
  Received received;
  // What completed since the last call: a wake-up, or the end of a poll
  // whose thread exited.
  if (*cq_head_ != LoadAcquire(cq_tail_)) Reap(&received);
  const pthread_t self = ::pthread_self();
  if (wake_fd_ >= 0 &&
      (!wake_poll_armed_ || !::pthread_equal(wake_poll_owner_, self))) {
    if (wake_poll_armed_) {
      io_uring_sqe* cancel = NextEntry();
      cancel->opcode = IORING_OP_ASYNC_CANCEL;
      cancel->addr = WakeTag(wake_generation_);
      cancel->user_data = kCancelTag;
    }
    io_uring_sqe* poll = NextEntry();
    poll->opcode = IORING_OP_POLL_ADD;
    poll->fd = wake_fd_;
    poll->poll32_events = POLLIN;
    poll->user_data = WakeTag(++wake_generation_);
    wake_poll_armed_ = true;
    wake_poll_owner_ = self;
  }
  QueueReceive(socket_fd, space);
  for (;;) {
    const int error = SubmitAndWait(deadline);
    if (ABSL_PREDICT_FALSE(error != 0 && !Transient(error))) {
      // The kernel refuses the ring (it cannot, with a ring that maps and
      // descriptors that are open). Entries it did not take are dropped;
      // a receive it took is cancelled.
      const unsigned head = LoadAcquire(sq_head_);
      const bool receive_taken = filled_ == head;
      filled_ = head;
      StoreRelease(sq_tail_, filled_);
      if (!receive_taken) {
        receive_pending_ = false;
        wake_poll_armed_ = false;  // (whether taken or not: re-armed)
      }
      Reap(&received);
      if (receive_pending_) CancelReceive(&received);
      if (received.bytes < 0 && received.error == 0) {
        received.error = error;
        received.ring_failed = true;
      }
      return received;
    }
    Reap(&received);
    const bool past_deadline =
        deadline != absl::InfiniteFuture() && absl::Now() >= deadline;
    if (receive_pending_) {
      if (received.woken || past_deadline) {
        CancelReceive(&received);
        return received;
      }
      continue;
    }
    if (received.bytes >= 0 || received.error != 0 || received.woken ||
        past_deadline) {
      return received;
    }
    QueueReceive(socket_fd,
                 space);  // it ended with nothing (interrupted): again
  }
}

void ReceiveRing::CancelReceive(Received* received) {
  io_uring_sqe* cancel = NextEntry();
  cancel->opcode = IORING_OP_ASYNC_CANCEL;
  cancel->addr = kReceiveTag;
  cancel->user_data = kCancelTag;
  while (receive_pending_) {
    // The receive's completion comes at once (cancelled, or with what it
    // received meanwhile).
    const int error = SubmitAndWait(absl::InfiniteFuture());
    Reap(received);
    if (ABSL_PREDICT_FALSE(error != 0 && !Transient(error) &&
                           receive_pending_)) {
      // The kernel still holds a receive into the caller's space and
      // refuses the ring: returning would let it write into memory that
      // is no longer the caller's.
      std::fprintf(stderr,
                   "sockrpc: io_uring refused to cancel a receive: %s\n",
                   std::strerror(error));
      std::abort();
    }
  }
}

}  // namespace sockrpc
