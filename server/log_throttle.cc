#include "server/log_throttle.h"

#include "absl/strings/str_cat.h"

namespace sockrpc {

std::optional<std::string> LogThrottle::Admit(absl::string_view line,
                                              absl::Time now) {
  if (now - last_logged_ < interval_) {
    ++left_out_;
    return std::nullopt;
  }
  last_logged_ = now;
  std::string text(line);
  if (left_out_ > 0) {
    absl::StrAppend(&text, " (", left_out_, " more like it not logged)");
    left_out_ = 0;
  }
  return text;
}

}  // namespace sockrpc
