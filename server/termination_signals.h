// TerminationSignals: how a server's main() waits for SIGINT, SIGTERM or
// SIGHUP, the three signals that ask a process to end.
//
//   int main() {
//     sockrpc::TerminationSignals signals;  // before any thread starts
//     ... server.Start() ...
//     signals.Wait();
//     server.Shutdown(absl::Now() + absl::Seconds(5));
//   }
//
// SIGHUP ends the server cleanly, as SIGTERM does, instead of reloading:
// a sockrpc server has no configuration file to reread, and a server
// started from a terminal that closes (or by a supervisor that sends
// SIGHUP to stop) should still remove its socket file and tell its clients
// GOAWAY rather than die where it stands.
//
// The constructor blocks the three signals in the calling thread, and every
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

  // Blocks until SIGINT, SIGTERM or SIGHUP arrives; returns its name
  // ("SIGINT", "SIGTERM" or "SIGHUP").
  const char* Wait();

 private:
  sigset_t signals_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_TERMINATION_SIGNALS_H_
