#include "transport/receive_ring.h"

#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/time/clock.h"
#include "transport/direct_syscalls.h"
#include "transport/thread_sanitizer.h"

namespace sockrpc {
namespace {

// Completions are told apart by user_data.
constexpr uint64_t kReceiveTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kCancelTag = 3;

// At most three entries are ever pending: the receive, the wake-up poll,
// a cancel.
constexpr unsigned kRingEntries = 4;

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

std::unique_ptr<ReceiveRing> ReceiveRing::Create(int socket_fd, int wake_fd) {
#ifdef SOCKRPC_THREAD_SANITIZER
  // TSan orders a send before the receive that gets it through its
  // interceptors of the libc calls; it cannot see a receive the kernel
  // completes into the ring.
  (void)socket_fd;
  (void)wake_fd;
  return nullptr;
#else
  if (DisabledByEnvironment()) return nullptr;
  io_uring_params params{};
  const long fd = ::syscall(SYS_io_uring_setup, kRingEntries, &params);
  if (fd < 0) return nullptr;  // ENOSYS, EPERM, ENOMEM...
  std::unique_ptr<ReceiveRing> ring(new ReceiveRing(socket_fd, wake_fd));
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
  char* base = static_cast<char*>(rings_);
  sq_head_ = reinterpret_cast<unsigned*>(base + params.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(base + params.sq_off.tail);
  sq_mask_ = *reinterpret_cast<unsigned*>(base + params.sq_off.ring_mask);
  sq_entries_ = params.sq_entries;
  cq_head_ = reinterpret_cast<unsigned*>(base + params.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(base + params.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(base + params.cq_off.ring_mask);
  completions_ = reinterpret_cast<io_uring_cqe*>(base + params.cq_off.cqes);
  // Submission slot i always holds entry i.
  unsigned* array = reinterpret_cast<unsigned*>(base + params.sq_off.array);
  for (unsigned i = 0; i < params.sq_entries; ++i) array[i] = i;
  return true;
}

ReceiveRing::~ReceiveRing() {
  // No receive is pending (see the header); closing the ring ends the
  // wake-up poll.
  if (entries_ != nullptr) ::munmap(entries_, entries_size_);
  if (rings_ != nullptr) ::munmap(rings_, rings_size_);
}

io_uring_sqe* ReceiveRing::NextEntry() {
  const unsigned tail = *sq_tail_ + to_submit_;
  if (tail - LoadAcquire(sq_head_) >= sq_entries_) return nullptr;
  io_uring_sqe* entry = &entries_[tail & sq_mask_];
  std::memset(entry, 0, sizeof(*entry));
  ++to_submit_;
  return entry;
}

int ReceiveRing::SubmitAndWait(absl::Time deadline) {
  const unsigned submitting = to_submit_;
  const unsigned tail_before = *sq_tail_;
  if (submitting > 0) {
    StoreRelease(sq_tail_, tail_before + submitting);
    to_submit_ = 0;
  }
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
  // The kernel takes every entry before it waits, and then reports how
  // many it took even if the wait timed out or was interrupted; it fails
  // the call only if it took none.
  const long result = direct::Syscall6(
      SYS_io_uring_enter, ring_fd_.get(), submitting, /*min_complete=*/1,
      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, direct::Arg(&arg),
      sizeof(arg));
  if (result >= 0) return 0;
  const int error = errno;
  if (submitting > 0) StoreRelease(sq_tail_, tail_before);  // none taken
  return error;
}

void ReceiveRing::Reap(Received* received) {
  unsigned head = *cq_head_;
  const unsigned tail = LoadAcquire(cq_tail_);
  for (; head != tail; ++head) {
    const io_uring_cqe& completion = completions_[head & cq_mask_];
    switch (completion.user_data) {
      case kReceiveTag:
        receive_pending_ = false;
        if (completion.res >= 0) {
          received->bytes = completion.res;
        } else if (completion.res != -ECANCELED) {
          received->error = -completion.res;
        }
        break;
      case kWakeTag:
        wake_poll_armed_ = false;
        if (completion.res > 0) received->woken = true;
        break;
      default:  // a cancel's own completion
        break;
    }
  }
  StoreRelease(cq_head_, head);
}

ReceiveRing::Received ReceiveRing::Receive(absl::Span<char> space,
                                           absl::Time deadline) {
  Received received;
  const bool arming_poll = !wake_poll_armed_ && wake_fd_ >= 0;
  if (arming_poll) {
    io_uring_sqe* poll = NextEntry();
    poll->opcode = IORING_OP_POLL_ADD;
    poll->fd = wake_fd_;
    poll->poll32_events = POLLIN;
    poll->user_data = kWakeTag;
    wake_poll_armed_ = true;
  }
  io_uring_sqe* receive = NextEntry();
  receive->opcode = IORING_OP_RECV;
  receive->fd = socket_fd_;
  receive->addr = reinterpret_cast<uint64_t>(space.data());
  receive->len =
      static_cast<uint32_t>(std::min<size_t>(space.size(), uint32_t{1} << 30));
  receive->user_data = kReceiveTag;
  receive_pending_ = true;
  for (bool first = true;; first = false) {
    const int error = SubmitAndWait(deadline);
    if (error != 0 && error != ETIME && error != EINTR) {
      // The kernel refused the ring (it cannot be, with a ring that maps
      // and descriptors that are open): a failed receive.
      if (first) {
        receive_pending_ = false;  // taken back by SubmitAndWait()
        if (arming_poll) wake_poll_armed_ = false;
      }
      Reap(&received);
      if (receive_pending_) CancelReceive(&received);
      if (received.bytes < 0 && received.error == 0) received.error = error;
      return received;
    }
    Reap(&received);
    if (!receive_pending_) return received;
    if (received.woken ||
        (deadline != absl::InfiniteFuture() && absl::Now() >= deadline)) {
      CancelReceive(&received);
      return received;
    }
  }
}

void ReceiveRing::CancelReceive(Received* received) {
  io_uring_sqe* cancel = NextEntry();
  cancel->opcode = IORING_OP_ASYNC_CANCEL;
  cancel->addr = kReceiveTag;
  cancel->user_data = kCancelTag;
  while (receive_pending_) {
    // The receive's completion comes at once (cancelled, or with what it
    // received meanwhile). Only an interrupted wait is tried again: a ring
    // the kernel refuses takes no cancel either.
    const int error = SubmitAndWait(absl::InfiniteFuture());
    Reap(received);
    if (error != 0 && error != EINTR) break;
  }
}

}  // namespace sockrpc
