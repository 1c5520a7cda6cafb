// TerminationSignals: how a server's main() waits for SIGINT or SIGTERM.
//
//   int main() {
//     sockrpc::TerminationSignals signals;  // before any thread starts
//     ... server.Start() ...
//     signals.Wait();
//     server.Shutdown(absl::Now() + absl::Seconds(5));
//   }
//
// The constructor blocks both signals in the calling thread, and every
// thread started afterwards (the server's) inherits that mask, so the
// signals wait for Wait() instead of killing the process or interrupting a
// server thread. Not thread-safe; one per process, in main().
#ifndef SOCKRPC_SERVER_TERMINATION_SIGNALS_H_
#define SOCKRPC_SERVER_TERMINATION_SIGNALS_H_

#include <signal.h>

namespace sockrpc {

class TerminationSignals {
 public:
  TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Blocks until SIGINT or SIGTERM arrives; returns "SIGINT" or "SIGTERM".
  const char* Wait();

 private:
  sigset_t signals_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_TERMINATION_SIGNALS_H_
