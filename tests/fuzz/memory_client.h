// MemoryClient: the client end of a server connection that the server
// fuzzer serves without a socket. The server reads and writes its
// ServerEnd(), a ByteStream (transport/byte_stream.h) with no descriptor;
// the harness plays the client: it hands out the input as the client's bytes,
// reads what the server writes, half-closes, and delivers the events epoll
// would have reported (ServerRuntime::DeliverInline()).
//
// Where a socket decides how bytes arrive and how much a write takes, a
// Shape does, chosen by the input, so that the fuzzer reaches what a
// socket does only under load: frames arriving in pieces, replies that the
// client does not read at once (short writes, output waiting for EPOLLOUT,
// a client cut off for not reading).
//
// Test-only; single-threaded.
#ifndef SOCKRPC_TESTS_FUZZ_MEMORY_CLIENT_H_
#define SOCKRPC_TESTS_FUZZ_MEMORY_CLIENT_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/byte_stream.h"

namespace sockrpc {
namespace fuzz {

enum class Shape {
  kWhole,       // reads take all that is left; the client reads every reply
  kPieces,      // reads take 1 to 13 bytes; the client reads every reply
  kSlowReader,  // the client reads 4 KiB of replies per round
  kLateReader,  // the client reads no reply until it has sent everything
};

// The input's shape: from its length, so that mutations that keep the
// length keep the shape.
inline Shape ShapeOf(size_t input_size) {
  return static_cast<Shape>(input_size % 4);
}

class MemoryClient {
 public:
  // `input`: the client's bytes; must outlive the client.
  MemoryClient(absl::string_view input, Shape shape)
      : input_(input), shape_(shape) {
    Refill();
  }

  // The stream the server serves: this client's other end. The client
  // must outlive it (the server drops it when it has closed the
  // connection and its calls have ended).
  std::unique_ptr<ByteStream> ServerEnd() {
    return std::make_unique<End>(this);
  }

  // ---- The server's side (through ServerEnd()) ----

  absl::StatusOr<ssize_t> Read(char* buffer, size_t size) {
    if (shut_down_) return 0;
    const size_t left = input_.size() - sent_;
    if (left == 0) return half_closed_ ? 0 : -1;
    size_t piece = std::min(size, left);
    if (shape_ == Shape::kPieces) {
      piece = std::min<size_t>(piece, 1 + (pieces_++ * 7) % 13);
    }
    std::memcpy(buffer, input_.data() + sent_, piece);
    sent_ += piece;
    return static_cast<ssize_t>(piece);
  }

  absl::StatusOr<size_t> Write(const struct iovec* iov, int iov_count) {
    if (shut_down_) return absl::UnavailableError("write: Broken pipe");
    size_t taken = 0;
    for (int i = 0; i < iov_count && room_ > 0; ++i) {
      const size_t part = std::min(iov[i].iov_len, room_);
      replies_.append(static_cast<const char*>(iov[i].iov_base), part);
      room_ -= part;
      taken += part;
      if (part < iov[i].iov_len) break;
    }
    size_t offered = 0;
    for (int i = 0; i < iov_count; ++i) offered += iov[i].iov_len;
    if (taken < offered) write_blocked_ = true;
    return taken;
  }

  void Shutdown() { shut_down_ = true; }

  // ---- The client's side ----

  // The client reads the replies it is ready for (its shape says how many
  // bytes). True if a write of the server's had been cut short and there
  // is room again: epoll would report EPOLLOUT.
  bool ReadReplies() {
    Refill();
    if (!write_blocked_ || room_ == 0) return false;
    write_blocked_ = false;
    return true;
  }
  // Everything the server has read plus written so far: unchanged over a
  // round means the server has nothing left to do.
  uint64_t progress() const { return sent_ + replies_.size(); }
  bool input_sent() const { return sent_ == input_.size(); }
  // The client half-closes (the server reads end of stream).
  void HalfClose() { half_closed_ = true; }
  bool half_closed() const { return half_closed_; }
  // Whether the server shut the stream down (ByteStream::Shutdown()).
  bool shut_down() const { return shut_down_; }
  // Whether a write of the server's waits for room (EPOLLOUT).
  bool write_blocked() const { return write_blocked_; }
  // Every byte the server wrote, in order.
  const std::string& replies() const { return replies_; }

 private:
  class End final : public ByteStream {
   public:
    explicit End(MemoryClient* client) : client_(client) {}
    int fd() const override { return -1; }
    absl::StatusOr<ssize_t> Read(char* buffer, size_t size) override {
      return client_->Read(buffer, size);
    }
    absl::StatusOr<size_t> Write(const struct iovec* iov,
                                 int iov_count) override {
      return client_->Write(iov, iov_count);
    }
    void Shutdown() override { client_->Shutdown(); }

   private:
    MemoryClient* const client_;
  };

  static constexpr size_t kUnlimited = ~size_t{0};
  static constexpr size_t kSlowReadSize = 4096;

  void Refill() {
    switch (shape_) {
      case Shape::kWhole:
      case Shape::kPieces:
        room_ = kUnlimited;
        break;
      case Shape::kSlowReader:
        room_ = kSlowReadSize;
        break;
      case Shape::kLateReader:
        room_ = input_sent() ? kUnlimited : 0;
        break;
    }
  }

  const absl::string_view input_;
  const Shape shape_;
  size_t sent_ = 0;      // input bytes the server has read
  uint32_t pieces_ = 0;  // reads so far, for kPieces
  bool half_closed_ = false;
  bool shut_down_ = false;
  size_t room_ = 0;  // bytes the server may write before the client reads
  bool write_blocked_ = false;
  std::string replies_;
};

}  // namespace fuzz
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_FUZZ_MEMORY_CLIENT_H_
