// ServerConnection's housekeeping by the clock: when the connection is next
// looked at and what happens then (its handshake deadline, idle timeout and
// keepalive PINGs, NextExpiry()), and the enforcement against clients that
// PING too often (see ServerOptions and docs/PROTOCOL.md section 4.9).
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/server_connection.h"
#include "server/server_runtime.h"
#include "server/server_stats.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

// The payload of our keepalive PINGs (any 8 bytes would do: the client
// echoes them, and anything it sends counts as its answer).
constexpr absl::string_view kKeepalivePayload = "keepaliv";

// The sooner of `expiry` and `other` (on a tie, one that closes wins); a
// PING due stays due.
void TakeSooner(ServerConnection::Expiry other,
                ServerConnection::Expiry* expiry) {
  if (other.at < expiry->at || (other.at == expiry->at && other.closes)) {
    other.pings = other.pings || expiry->pings;
    *expiry = std::move(other);
  }
}

}  // namespace

ServerConnection::Expiry ServerConnection::NextExpiry(absl::Time now) const {
  const ServerOptions& options = runtime_->options();
  MutexLock lock(&read_mu_);
  if (!preface_received_) {
    return {handshake_deadline_, /*closes=*/true, /*pings=*/false,
            absl::StrCat("no connection preface within ",
                         absl::FormatDuration(options.handshake_timeout))};
  }
  Expiry expiry;
  KeepaliveExpiry(now, &expiry);
  if (options.idle_timeout <= absl::ZeroDuration()) return expiry;
  bool busy;
  {
    MutexLock calls_lock(&calls_mu_);
    busy = !calls_.empty();
  }
  if (busy) {
    TakeSooner({now + options.idle_timeout, false, false, ""}, &expiry);
    return expiry;  // look again later
  }
  const absl::Duration idle =
      absl::Nanoseconds(MonotonicNanos() - last_activity_nanos_);
  TakeSooner(
      {now + (options.idle_timeout - idle), /*closes=*/true, false,
       absl::StrCat("idle for ", absl::FormatDuration(options.idle_timeout))},
      &expiry);
  return expiry;
}

void ServerConnection::KeepaliveExpiry(absl::Time now, Expiry* expiry) const {
  const ServerOptions& options = runtime_->options();
  if (options.keepalive_time == absl::InfiniteDuration() ||
      options.keepalive_time <= absl::ZeroDuration() ||
      options.keepalive_timeout <= absl::ZeroDuration()) {
    return;  // off
  }
  const int64_t now_nanos = MonotonicNanos();
  if (keepalive_ping_nanos_ != 0 && last_read_nanos_ < keepalive_ping_nanos_) {
    // Our PING is out and nothing came since: the client has until then.
    const absl::Duration waited =
        absl::Nanoseconds(now_nanos - keepalive_ping_nanos_);
    TakeSooner({now + (options.keepalive_timeout - waited), /*closes=*/true,
                /*pings=*/false,
                absl::StrCat("no answer to a keepalive PING within ",
                             absl::FormatDuration(options.keepalive_timeout))},
               expiry);
    return;
  }
  const absl::Duration quiet = absl::Nanoseconds(now_nanos - last_read_nanos_);
  if (quiet < options.keepalive_time) {
    TakeSooner({now + (options.keepalive_time - quiet), false, false, ""},
               expiry);
    return;
  }
  // A PING is due now (SendKeepalivePing()); its answer is looked for then.
  expiry->pings = true;
  TakeSooner({now + options.keepalive_timeout, false, false, ""}, expiry);
}

void ServerConnection::SendKeepalivePing() {
  {
    MutexLock lock(&read_mu_);
    keepalive_ping_nanos_ = MonotonicNanos();
  }
  std::string out;
  AppendRawFrame(&out, FrameType::kPing, 0, 0, kKeepalivePayload);
  Send(std::move(out));
}

bool ServerConnection::HandlePing(const FrameReader::Frame& frame) {
  if (frame.header.flags & kFlagAck) return true;  // an answer: read is all
  const ServerOptions& options = runtime_->options();
  if (options.min_time_between_pings > absl::ZeroDuration()) {
    // The read that brought the PING stands for its arrival.
    if (last_ping_nanos_ != 0 &&
        absl::Nanoseconds(last_read_nanos_ - last_ping_nanos_) <
            options.min_time_between_pings &&
        ++ping_strikes_ > options.max_ping_strikes) {
      const absl::Status why = absl::ResourceExhaustedError(
          absl::StrCat("too many pings: more than ",
                       options.max_ping_strikes + 1, " PINGs less than ",
                       absl::FormatDuration(options.min_time_between_pings),
                       " apart with no call between them"));
      runtime_->Log(
          absl::StrCat("connection from ", peer_, " dropped: ", why.message()));
      SendGoAwayLocked(why);
      return false;
    }
    last_ping_nanos_ = last_read_nanos_;
  }
  std::string out;
  AppendRawFrame(&out, FrameType::kPing, kFlagAck, 0, frame.payload);
  Send(std::move(out));
  return true;
}

}  // namespace sockrpc
