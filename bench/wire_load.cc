#include "wire_load.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "measure.h"
#include "raw_wire.h"
#include "sockrpc/wire.pb.h"
#include "transport/frame.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace bench {
namespace {

// Bytes read per read() call, and per connection per event at most (so
// that one busy connection does not starve the others).
constexpr size_t kReadChunk = 256 << 10;
constexpr size_t kReadPerEvent = 1 << 20;

}  // namespace

WireLoad::WireLoad(std::string address)
    : address_(std::move(address)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      read_buffer_(kReadChunk) {
  if (!epoll_.valid()) std::perror("bench: epoll_create1");
}

WireLoad::~WireLoad() = default;  // each Fd closes its connection

bool WireLoad::Open(int count) {
  if (!epoll_.valid()) return false;
  for (int n = 0; n < count; ++n) {
    int fd = ConnectRaw(address_);
    if (fd < 0) return false;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    Connection connection;
    connection.fd = Fd(fd);
    AppendPreface(&connection.out);
    connections_.push_back(std::move(connection));
    const int i = size() - 1;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(i);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
      std::perror("bench: epoll_ctl");
      return false;
    }
  }
  return true;
}

uint32_t WireLoad::StartCall(int i, absl::string_view method,
                             const google::protobuf::MessageLite& request) {
  Connection& c = connections_[i];
  const uint32_t stream_id = c.next_stream_id++;
  absl::Status headers = AppendCallHeaderFrame(&c.out, 0, stream_id, method, 0,
                                               {}, kDefaultMaxFrameSize);
  absl::Status message =
      AppendMessageFrame(&c.out, FrameType::kMessage, kFlagEndStream, stream_id,
                         request, kDefaultMaxFrameSize);
  if (!headers.ok() || !message.ok()) {
    std::fprintf(stderr, "bench: cannot encode a call of %s\n",
                 std::string(method).c_str());
  }
  return stream_id;
}

void WireLoad::Cancel(int i, uint32_t stream_id) {
  AppendRawFrame(&connections_[i].out, FrameType::kCancel, 0, stream_id, "");
}

void WireLoad::Ping(int i) {
  AppendRawFrame(&connections_[i].out, FrameType::kPing, 0, 0, "benchpng");
}

void WireLoad::Close(int i) {
  Connection& c = connections_[i];
  c.fd.reset();  // closing also takes it out of the epoll set
  c.counts.closed = true;
  c.out.clear();
  c.out_offset = 0;
}

void WireLoad::Fail(int i, const std::string& why) {
  if (!connections_[i].counts.closed) {
    std::fprintf(stderr, "bench: wire connection %d: %s\n", i, why.c_str());
  }
  connections_[i].counts.last_error = why;
  Close(i);
}

void WireLoad::Watch(int i, bool want_write) {
  Connection& c = connections_[i];
  if (c.want_write == want_write || !c.fd.valid()) return;
  c.want_write = want_write;
  epoll_event event{};
  event.events = want_write ? EPOLLIN | EPOLLOUT : EPOLLIN;
  event.data.u32 = static_cast<uint32_t>(i);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &event);
}

void WireLoad::Write(int i) {
  Connection& c = connections_[i];
  while (c.fd.valid() && c.out_offset < c.out.size()) {
    ssize_t n = ::write(c.fd.get(), c.out.data() + c.out_offset,
                        c.out.size() - c.out_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Fail(i, absl::StrCat("write: ", std::strerror(errno)));
      return;
    }
    c.out_offset += static_cast<size_t>(n);
  }
  if (c.out_offset == c.out.size()) {
    c.out.clear();
    c.out_offset = 0;
  }
  Watch(i, !c.out.empty());
}

void WireLoad::Read(int i) {
  Connection& c = connections_[i];
  size_t taken = 0;
  while (c.fd.valid() && taken < kReadPerEvent) {
    ssize_t n = ::read(c.fd.get(), read_buffer_.data(), read_buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Fail(i, absl::StrCat("read: ", std::strerror(errno)));
      return;
    }
    if (n == 0) {
      Fail(i, "closed by the server");
      return;
    }
    c.in.append(read_buffer_.data(), static_cast<size_t>(n));
    taken += static_cast<size_t>(n);
    Parse(i);
  }
}

void WireLoad::Parse(int i) {
  Connection& c = connections_[i];
  if (!c.preface_seen) {
    if (c.in.size() - c.in_offset < kPrefaceSize) return;
    absl::Status preface =
        CheckPreface(absl::string_view(c.in).substr(c.in_offset, kPrefaceSize));
    if (!preface.ok()) {
      Fail(i, std::string(preface.message()));
      return;
    }
    c.preface_seen = true;
    c.in_offset += kPrefaceSize;
  }
  while (c.in.size() - c.in_offset >= kFrameHeaderSize) {
    absl::StatusOr<FrameHeader> header =
        DecodeFrameHeader(c.in.data() + c.in_offset);
    if (!header.ok()) {
      Fail(i, std::string(header.status().message()));
      return;
    }
    if (c.in.size() - c.in_offset < kFrameHeaderSize + header->length) break;
    absl::string_view payload(c.in.data() + c.in_offset + kFrameHeaderSize,
                              header->length);
    switch (static_cast<FrameType>(header->type)) {
      case FrameType::kMessage:
        ++c.counts.messages;
        ++total_messages_;
        break;
      case FrameType::kStatus: {
        ++c.counts.statuses;
        wire::CallStatus status;
        if (!payload.empty() &&
            (!status.ParseFromArray(payload.data(),
                                    static_cast<int>(payload.size())) ||
             status.code() != 0)) {
          ++c.counts.errors;
          c.counts.last_error =
              absl::StrCat("stream ", header->stream_id, ": code ",
                           status.code(), " ", status.message());
        }
        break;
      }
      case FrameType::kPing:
        if (header->flags & kFlagAck) ++c.counts.ping_acks;
        break;
      case FrameType::kGoAway: {
        wire::GoAway goaway;
        goaway.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
        c.counts.last_error = absl::StrCat("GOAWAY: ", goaway.message());
        break;
      }
      default:
        break;  // HEADERS, WINDOW_UPDATE, unknown types
    }
    c.in_offset += kFrameHeaderSize + header->length;
  }
  if (c.in_offset == c.in.size()) {
    c.in.clear();
    c.in_offset = 0;
  } else if (c.in_offset > (64 << 10)) {
    c.in.erase(0, c.in_offset);
    c.in_offset = 0;
  }
}

bool WireLoad::Pump(absl::FunctionRef<bool()> done, double timeout_seconds) {
  const int64_t deadline =
      NowNs() + static_cast<int64_t>(timeout_seconds * 1e9);
  for (int i = 0; i < size(); ++i) {
    if (!connections_[i].out.empty()) Write(i);
  }
  epoll_event events[256];
  while (!done()) {
    const int64_t left = deadline - NowNs();
    if (left <= 0) return false;
    const int wait_ms =
        static_cast<int>(std::min<int64_t>(100, (left + 999'999) / 1'000'000));
    int n = ::epoll_wait(epoll_.get(), events, 256, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("bench: epoll_wait");
      return false;
    }
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(events[k].data.u32);
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read(i);
      if (events[k].events & EPOLLOUT) Write(i);
    }
  }
  return true;
}

bool WireLoad::Flush(double timeout_seconds) {
  return Pump(
      [this] {
        for (const Connection& c : connections_) {
          if (c.fd.valid() && !c.out.empty()) return false;
        }
        return true;
      },
      timeout_seconds);
}

}  // namespace bench
}  // namespace sockrpc
