#include "tools/conformance/wire_peer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "transport/frame.h"
#include "transport/socket.h"

namespace sockrpc {
namespace conformance {

std::string RawFrame::Describe() const {
  std::string name = IsKnownFrameType(type) && type != 0
                         ? FrameTypeName(type)
                         : absl::StrFormat("type 0x%02x", type);
  std::string text = absl::StrFormat("%s stream %u flags 0x%02x length %u",
                                     name, stream_id, flags, length);
  if (reserved != 0) absl::StrAppendFormat(&text, " reserved 0x%04x", reserved);
  return text;
}

RawFrame ParseRawHeader(absl::string_view header) {
  const auto byte = [&](int i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(header[i]));
  };
  RawFrame frame;
  frame.length = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  frame.stream_id = byte(4) << 24 | byte(5) << 16 | byte(6) << 8 | byte(7);
  frame.type = static_cast<uint8_t>(byte(8));
  frame.flags = static_cast<uint8_t>(byte(9));
  frame.reserved = static_cast<uint16_t>(byte(10) << 8 | byte(11));
  frame.bytes = std::string(header.substr(0, kFrameHeaderSize));
  return frame;
}

bool CutRawFrame(std::string* buffer, RawFrame* frame) {
  if (buffer->size() < kFrameHeaderSize) return false;
  RawFrame cut = ParseRawHeader(*buffer);
  if (buffer->size() - kFrameHeaderSize < cut.length) return false;
  cut.payload = buffer->substr(kFrameHeaderSize, cut.length);
  cut.bytes += cut.payload;
  buffer->erase(0, kFrameHeaderSize + cut.length);
  *frame = std::move(cut);
  return true;
}

absl::StatusOr<std::unique_ptr<WirePeer>> WirePeer::Connect(
    const Address& address, absl::Time deadline) {
  absl::StatusOr<Fd> fd = sockrpc::Connect(address, deadline);
  if (!fd.ok()) return fd.status();
  return std::make_unique<WirePeer>(*std::move(fd));
}

WirePeer::WirePeer(Fd fd) : fd_(std::move(fd)) {
  const int flags = fcntl(fd_.get(), F_GETFL);
  if (flags >= 0) fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
}

absl::Status WirePeer::Send(absl::string_view bytes, absl::Time deadline) {
  while (!bytes.empty()) {
    struct iovec iov = {const_cast<char*>(bytes.data()), bytes.size()};
    absl::StatusOr<size_t> written = WriteSome(fd_.get(), &iov, 1);
    if (!written.ok()) return written.status();
    bytes.remove_prefix(*written);
    if (*written == 0) {
      absl::Status ready = WaitFor(fd_.get(), POLLOUT, deadline);
      if (!ready.ok()) {
        return absl::DeadlineExceededError(
            absl::StrCat("the peer stopped reading with ", bytes.size(),
                         " bytes still to send"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status WirePeer::Fill(absl::Time deadline) {
  if (at_eof_) return absl::OutOfRangeError("connection closed");
  char buffer[64 * 1024];
  for (;;) {
    absl::StatusOr<ssize_t> count = ReadSome(fd_.get(), buffer, sizeof buffer);
    if (!count.ok()) return count.status();
    if (*count > 0) {
      pending_.append(buffer, *count);
      received_.append(buffer,
                       std::min<size_t>(*count, kKeptBytes - received_.size()));
      return absl::OkStatus();
    }
    if (*count == 0) {
      at_eof_ = true;
      return absl::OutOfRangeError("connection closed");
    }
    absl::Status ready = WaitFor(fd_.get(), POLLIN, deadline);
    if (!ready.ok()) return absl::DeadlineExceededError("nothing arrived");
  }
}

absl::StatusOr<std::string> WirePeer::ReadExactly(size_t count,
                                                  absl::Time deadline) {
  while (pending_.size() < count) {
    absl::Status filled = Fill(deadline);
    if (!filled.ok()) {
      const std::string what =
          absl::StrCat(" after ", pending_.size(), " of ", count, " bytes");
      if (absl::IsOutOfRange(filled)) {
        return absl::OutOfRangeError(absl::StrCat("connection closed", what));
      }
      if (absl::IsDeadlineExceeded(filled)) {
        return absl::DeadlineExceededError(
            absl::StrCat("timed out waiting", what));
      }
      return absl::Status(filled.code(), absl::StrCat(filled.message(), what));
    }
  }
  std::string bytes = pending_.substr(0, count);
  pending_.erase(0, count);
  return bytes;
}

absl::StatusOr<RawFrame> WirePeer::ReadFrame(absl::Time deadline,
                                             size_t max_payload) {
  absl::StatusOr<std::string> header = ReadExactly(kFrameHeaderSize, deadline);
  if (!header.ok()) return header.status();
  RawFrame frame = ParseRawHeader(*header);
  if (frame.length <= max_payload) {
    absl::StatusOr<std::string> payload = ReadExactly(frame.length, deadline);
    if (!payload.ok()) return payload.status();
    frame.payload = *std::move(payload);
    frame.bytes += frame.payload;
    return frame;
  }
  size_t left = frame.length;  // too large to keep: drop it as it comes
  while (left > 0) {
    if (pending_.empty()) {
      absl::Status filled = Fill(deadline);
      if (!filled.ok()) return filled;
    }
    const size_t take = std::min(left, pending_.size());
    pending_.erase(0, take);
    left -= take;
  }
  return frame;
}

absl::Status WirePeer::WaitForClose(absl::Time deadline) {
  for (;;) {
    pending_.clear();
    absl::Status filled = Fill(deadline);
    if (absl::IsOutOfRange(filled) || absl::IsUnavailable(filled)) {
      return absl::OkStatus();
    }
    if (!filled.ok()) return filled;
  }
}

void WirePeer::CloseForWriting() { shutdown(fd_.get(), SHUT_WR); }

std::string Hex(absl::string_view bytes, size_t limit) {
  std::string text;
  const size_t shown = std::min(limit, bytes.size());
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) text += ' ';
    absl::StrAppendFormat(&text, "%02x", static_cast<uint8_t>(bytes[i]));
  }
  if (shown < bytes.size()) {
    absl::StrAppend(&text, " ... (", bytes.size(), " bytes)");
  }
  return text;
}

}  // namespace conformance
}  // namespace sockrpc
