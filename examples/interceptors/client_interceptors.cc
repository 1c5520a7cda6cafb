#include "examples/interceptors/client_interceptors.h"

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace examples {

void CallTimer::OnCallEnd(absl::string_view method,
                          const ClientContext& context,
                          const absl::Status& status, absl::Duration elapsed) {
  write_(absl::StrCat(method, ": ", status.ok() ? "OK" : status.ToString(),
                      " in ", absl::FormatDuration(elapsed)));
}

}  // namespace examples
}  // namespace sockrpc
