// FormatEvent renders one InspectEvent as one line of `sockrpc tap` /
// `sockrpc decode` output: readable text (optionally coloured with ANSI
// escapes, which the caller enables only on a terminal), or one JSON object
// for scripts. Internal to the tool; docs/CAPTURE.md describes both forms.
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TOOLS_CLI_FRAME_PRINTER_H_
#define SOCKRPC_TOOLS_CLI_FRAME_PRINTER_H_

#include <string>

#include "tools/cli/inspect_event.h"

namespace sockrpc {
namespace cli {

struct PrintOptions {
  bool json = false;   // one JSON object per line instead of text
  bool color = false;  // ANSI colours in text output
};

// Returns the event's line, ending in '\n'.
std::string FormatEvent(const InspectEvent& event, const PrintOptions& options);

// FlagNames names a frame's flag bits for its type: "END_STREAM", "ACK",
// or hex for bits with no meaning; "" when no bit is set.
std::string FlagNames(uint8_t type, uint8_t flags);

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_FRAME_PRINTER_H_
