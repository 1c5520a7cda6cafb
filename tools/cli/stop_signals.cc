#include "tools/cli/stop_signals.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

#include "transport/posix_error.h"

namespace sockrpc {
namespace cli {

absl::StatusOr<StopSignals> StopSignals::Block() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Fd fd(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd.valid()) return PosixError("signalfd", errno);
  return StopSignals(std::move(fd));
}

}  // namespace cli
}  // namespace sockrpc
