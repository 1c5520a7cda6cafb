#include "tests/testing/raw_connection.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "increment.pb.h"
#include "transport/address.h"
#include "transport/socket.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace testing {
namespace {

// The largest frame a RawConnection accepts from the server.
constexpr uint32_t kRawMaxFrameSize = 16u << 20;

}  // namespace

RawConnection::RawConnection(Fd fd)
    : fd_(std::move(fd)), reader_(kRawMaxFrameSize) {}

absl::StatusOr<RawConnection> RawConnection::Open(absl::string_view target,
                                                  absl::Duration timeout) {
  absl::StatusOr<Address> address = ParseAddress(target);
  if (!address.ok()) return address.status();
  absl::StatusOr<Fd> fd = Connect(*address, absl::Now() + timeout);
  if (!fd.ok()) return fd.status();
  return RawConnection(*std::move(fd));
}

absl::Status RawConnection::Send(absl::string_view bytes,
                                 absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!bytes.empty()) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    absl::StatusOr<size_t> written = WriteSome(fd_.get(), &iov, 1);
    if (!written.ok()) return written.status();
    bytes.remove_prefix(*written);
    if (bytes.empty()) break;
    absl::Status ready = WaitFor(fd_.get(), POLLOUT, deadline);
    if (!ready.ok()) return ready;
  }
  return absl::OkStatus();
}

absl::Status RawConnection::HangUp() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0) {
    return absl::InternalError(absl::StrCat("shutdown: errno ", errno));
  }
  return absl::OkStatus();
}

absl::Status RawConnection::ReadMore(absl::Time deadline, bool* closed) {
  *closed = false;
  for (;;) {
    absl::Span<char> space = reader_.PrepareRead();
    absl::StatusOr<ssize_t> got =
        ReadSome(fd_.get(), space.data(), space.size());
    if (!got.ok()) {
      // ReadSome reports ECONNRESET (and other errors) as UNAVAILABLE: for
      // a test peer, a reset is the server closing on us.
      *closed = true;
      return absl::OkStatus();
    }
    if (*got == 0) {
      *closed = true;
      return absl::OkStatus();
    }
    if (*got > 0) {
      reader_.CommitRead(static_cast<size_t>(*got));
      return absl::OkStatus();
    }
    absl::Status ready = WaitFor(fd_.get(), POLLIN, deadline);
    if (!ready.ok()) return ready;
  }
}

absl::StatusOr<std::string> RawConnection::ReadPreface(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::string_view preface;
    if (reader_.TakePreface(&preface)) {
      preface_taken_ = true;
      return std::string(preface);
    }
    bool closed = false;
    absl::Status status = ReadMore(deadline, &closed);
    if (!status.ok()) return status;
    if (closed) {
      return absl::UnavailableError(
          "connection closed before the server's preface");
    }
  }
}

absl::StatusOr<ReceivedFrame> RawConnection::ReadFrame(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (!preface_taken_) {
    return absl::FailedPreconditionError("ReadPreface() first");
  }
  for (;;) {
    FrameReader::Frame frame;
    absl::Status error;
    switch (reader_.Next(&frame, &error)) {
      case FrameReader::Result::kFrame:
        return ReceivedFrame{frame.header, std::string(frame.payload)};
      case FrameReader::Result::kMalformed:
        return error;
      case FrameReader::Result::kOversized:
        return absl::ResourceExhaustedError(absl::StrCat(
            "server sent a frame of ", frame.header.length, " bytes"));
      case FrameReader::Result::kNeedMore:
        break;
    }
    bool closed = false;
    absl::Status status = ReadMore(deadline, &closed);
    if (!status.ok()) return status;
    if (closed) {
      return absl::UnavailableError(
          absl::StrCat("connection closed by the server (", reader_.buffered(),
                       " bytes of a partial frame left)"));
    }
  }
}

bool RawConnection::NothingMoreArrived() {
  if (reader_.buffered() > 0) return false;
  pollfd readable{fd_.get(), POLLIN, 0};
  return ::poll(&readable, 1, 0) == 0;
}

absl::Status RawConnection::WaitUntilPeerReadAll(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int unread = 0;
    if (::ioctl(fd_.get(), SIOCOUTQ, &unread) != 0) {
      return absl::InternalError(absl::StrCat("ioctl SIOCOUTQ: errno ", errno));
    }
    if (unread == 0) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(unread, " bytes sent are still unread by the peer"));
    }
    ::poll(nullptr, 0, 1);
  }
}

absl::Status RawConnection::WaitForClose(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    bool closed = false;
    absl::Status status = ReadMore(deadline, &closed);
    if (!status.ok()) return status;
    if (closed) return absl::OkStatus();
    // Discard what arrived; only the close matters here.
    absl::string_view preface;
    if (!preface_taken_ && reader_.TakePreface(&preface)) preface_taken_ = true;
    if (preface_taken_) {
      FrameReader::Frame frame;
      absl::Status error;
      while (reader_.Next(&frame, &error) == FrameReader::Result::kFrame) {
      }
    }
  }
}

std::string HeadersFrame(uint32_t stream_id, const wire::CallHeader& header) {
  std::string out;
  (void)AppendMessageFrame(&out, FrameType::kHeaders, 0, stream_id, header,
                           kDefaultMaxFrameSize);
  return out;
}

std::string HeadersFrame(uint32_t stream_id, absl::string_view method) {
  wire::CallHeader header;
  header.set_method(std::string(method));
  return HeadersFrame(stream_id, header);
}

std::string IncrementRequestFrame(uint32_t stream_id,
                                  absl::string_view character) {
  increment::IncrementRequest request;
  request.set_character(std::string(character));
  std::string out;
  (void)AppendMessageFrame(&out, FrameType::kMessage, kFlagEndStream, stream_id,
                           request, kRawMaxFrameSize);
  return out;
}

std::string RawFrameHeader(uint32_t length, uint32_t stream_id, uint8_t type,
                           uint8_t flags, uint16_t reserved) {
  std::string out(kFrameHeaderSize, '\0');
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>(length >> (24 - 8 * i));
    out[4 + i] = static_cast<char>(stream_id >> (24 - 8 * i));
  }
  out[8] = static_cast<char>(type);
  out[9] = static_cast<char>(flags);
  out[10] = static_cast<char>(reserved >> 8);
  out[11] = static_cast<char>(reserved & 0xff);
  return out;
}

absl::Status ReadCallOutcome(RawConnection* connection, uint32_t stream_id,
                             absl::Duration timeout,
                             std::string* reply_character) {
  const absl::Time deadline = absl::Now() + timeout;
  reply_character->clear();
  for (;;) {
    absl::StatusOr<ReceivedFrame> frame =
        connection->ReadFrame(deadline - absl::Now());
    if (!frame.ok()) return frame.status();
    if (frame->header.stream_id != stream_id) continue;
    switch (static_cast<FrameType>(frame->header.type)) {
      case FrameType::kMessage: {
        increment::IncrementReply reply;
        if (!reply.ParseFromString(frame->payload)) {
          return absl::DataLossError("reply does not parse");
        }
        *reply_character = reply.character();
        break;
      }
      case FrameType::kStatus: {
        wire::CallStatus status;
        if (!status.ParseFromString(frame->payload)) {
          return absl::DataLossError("STATUS does not parse");
        }
        return StatusFromWire(status.code(), status.message());
      }
      default:
        break;
    }
  }
}

absl::StatusOr<wire::GoAway> ReadGoAway(RawConnection* connection,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<ReceivedFrame> frame =
        connection->ReadFrame(deadline - absl::Now());
    if (!frame.ok()) return frame.status();
    if (frame->header.type != static_cast<uint8_t>(FrameType::kGoAway)) {
      continue;
    }
    wire::GoAway goaway;
    if (!goaway.ParseFromString(frame->payload)) {
      return absl::DataLossError("GOAWAY payload does not parse");
    }
    return goaway;
  }
}

absl::StatusOr<int64_t> VmRssKilobytes(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, "kB");
    int64_t kilobytes = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kilobytes)) {
      return kilobytes;
    }
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid));
}

}  // namespace testing
}  // namespace sockrpc
