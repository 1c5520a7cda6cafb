#include "server/termination_signals.h"

#include <pthread.h>
#include <unistd.h>

namespace sockrpc {

TerminationSignals::TerminationSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

const char* TerminationSignals::Wait() {
  int signal_number = 0;
  while (sigwait(&signals_, &signal_number) != 0) {
  }
  if (const char* reason = interrupted_.load()) return reason;
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "SIGTERM";
  }
}

void TerminationSignals::Interrupt(const char* reason) {
  interrupted_.store(reason);
  // Blocked in every thread: it waits for Wait()'s sigwait().
  kill(getpid(), SIGTERM);
}

}  // namespace sockrpc
