// StopSignals: SIGINT and SIGTERM turned from killers of the process into
// a request to stop, read through a signalfd, for the commands that run
// until stopped (tap) or may be stopped early (bench). Internal to
// tools/cli.
//
// Thread-compatible; fd() may be polled from any thread.
#ifndef SOCKRPC_TOOLS_CLI_STOP_SIGNALS_H_
#define SOCKRPC_TOOLS_CLI_STOP_SIGNALS_H_

#include <utility>

#include "absl/status/statusor.h"
#include "transport/fd.h"

namespace sockrpc {
namespace cli {

class StopSignals {
 public:
  // Blocks both signals in the calling thread for the rest of the process
  // (threads started later inherit the mask, and a signal arriving after
  // the command stopped cannot kill it before it has finished its output),
  // and opens a non-blocking signalfd for them. Call before starting
  // threads.
  static absl::StatusOr<StopSignals> Block();

  // The signalfd: readable once a stop signal is pending.
  int fd() const { return fd_.get(); }

 private:
  explicit StopSignals(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_STOP_SIGNALS_H_
