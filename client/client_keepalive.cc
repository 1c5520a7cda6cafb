// ClientConnection's keepalive (ChannelOptions::keepalive_time): the
// thread holding the reader role, a blocking caller (ReadUntil()) or the
// channel's event loop (KeepAliveForLoop()), sends a PING when nothing has
// arrived for keepalive_time and fails the connection when nothing has
// arrived for keepalive_timeout after that (docs/PROTOCOL.md section 4.9).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_connection.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// The payload of our keepalive PINGs: any 8 bytes do (anything the server
// sends counts as its answer, the ACK at least).
constexpr absl::string_view kKeepalivePayload = "keepaliv";

// A look this much later than the last one asked for means nobody read in
// between (see KeepAliveAsReader()).
constexpr absl::Duration kLookSlack = absl::Seconds(1);

}  // namespace

bool ClientConnection::KeepAliveAsReader(absl::Time now,
                                         absl::Time* look_again) {
  *look_again = absl::InfiniteFuture();
  if (!keepalive_enabled()) return true;
  Keepalive& state = keepalive_;
  const uint64_t bytes = in_.bytes_received();
  // Something arrived: the quiet time starts again. So it does if the
  // last look asked for this one much earlier: then nobody was reading
  // meanwhile (no call waited), and what the server sent may wait unread.
  if (bytes != state.bytes_seen || now > state.look_again + kLookSlack) {
    state.bytes_seen = bytes;
    state.ping_due = now + keepalive_time_;
    state.answer_due = absl::InfiniteFuture();
  }
  if (state.answer_due != absl::InfiniteFuture()) {
    if (now < state.answer_due) {
      *look_again = state.look_again = state.answer_due;
      return true;
    }
    Fail(absl::UnavailableError(
        absl::StrCat("connection to ", target_,
                     " lost: no answer to a keepalive PING within ",
                     absl::FormatDuration(keepalive_timeout_))));
    return false;
  }
  if (now >= state.ping_due) {
    std::string ping;
    AppendRawFrame(&ping, FrameType::kPing, 0, 0, kKeepalivePayload);
    SendNoWait(ping);
    state.answer_due = now + keepalive_timeout_;
    *look_again = state.look_again = state.answer_due;
    return true;
  }
  *look_again = state.look_again = state.ping_due;
  return true;
}

absl::Time ClientConnection::KeepAliveForLoop(absl::Time now) {
  {
    MutexLock lock(&mu_);
    if (!broken_.ok()) return absl::InfiniteFuture();
    // The reader looks after it meanwhile; look again a period later.
    if (reader_active_) return now + keepalive_time_;
    reader_active_ = true;
  }
  absl::Time look_again;
  KeepAliveAsReader(now, &look_again);
  MutexLock lock(&mu_);
  ReleaseReaderLocked();
  return look_again;
}

}  // namespace sockrpc
