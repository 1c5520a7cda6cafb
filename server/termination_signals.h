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

#include <atomic>

namespace sockrpc {

class TerminationSignals {
 public:
  TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Blocks until SIGINT, SIGTERM or SIGHUP arrives; returns its name
  // ("SIGINT", "SIGTERM" or "SIGHUP").
  const char* Wait();

  // Interrupt makes Wait() return `reason` (a string literal), as if a
  // signal had come: for a server that stopped on its own
  // (ServerOptions::exit_when_idle), from a thread that waited for it:
  //
  //   std::thread waiter([&] { server.Wait(); signals.Interrupt("idle"); });
  //
  // Thread-safe.
  void Interrupt(const char* reason);

 private:
  sigset_t signals_;
  std::atomic<const char*> interrupted_{nullptr};
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_TERMINATION_SIGNALS_H_
