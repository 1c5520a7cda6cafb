// Fd: the one RAII owner of a file descriptor in sockrpc.
//
// Thread-compatible: a const Fd may be read (get()) from many threads; any
// mutation needs external synchronization.
#ifndef SOCKRPC_TRANSPORT_FD_H_
#define SOCKRPC_TRANSPORT_FD_H_

namespace sockrpc {

// Fd owns one open file descriptor, or none (get() == -1), and closes it on
// destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  // Takes ownership of `fd` (which may be -1).
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }

  // Gives up ownership without closing; returns the descriptor.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Closes the owned descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FD_H_
