// LogThrottle: keeps one recurring condition (connections refused because
// the server is full, accept() failing for lack of descriptors) from
// flooding the server log: the first line goes out at once, then at most
// one per interval, each saying how many like it were left out since the
// one before. Internal to the server.
//
// Not thread-safe: its owner serializes the calls (the server holds its
// mutex).
#ifndef SOCKRPC_SERVER_LOG_THROTTLE_H_
#define SOCKRPC_SERVER_LOG_THROTTLE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sockrpc {

class LogThrottle {
 public:
  explicit LogThrottle(absl::Duration interval) : interval_(interval) {}

  // Counts one occurrence at `now`. Returns the line to log now, `line`
  // followed by " (N more like it not logged)" when some were left out, or
  // nothing when the last line went out less than an interval ago.
  std::optional<std::string> Admit(absl::string_view line, absl::Time now);

 private:
  const absl::Duration interval_;
  absl::Time last_logged_ = absl::InfinitePast();
  uint64_t left_out_ = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_LOG_THROTTLE_H_
