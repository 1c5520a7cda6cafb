// StrictRelay: `sockrpc conformance --client`, a strict server for
// checking a client. It accepts the client's connections and relays each,
// frame by frame, to a real server (--upstream) that serves what the
// client calls, while a ClientJudge per connection judges the client's
// frames. On the way to the client it adds what a client must cope with:
//
//   - right after the server's preface, a PING (which the client must
//     answer; the answer is not passed on), a frame of unknown type 0x42 on
//     stream 0 and a WINDOW_UPDATE on stream 0, both to be skipped;
//   - before each STATUS, a frame of unknown type 0x42 on the call's stream.
//
// So a client that runs its calls through the relay proves both that it
// sends only what the protocol allows (the report) and that it copes with
// what a server may send (its calls still succeed).
//
// One thread: Run() polls the listener and every connection, non-blocking.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_STRICT_RELAY_H_
#define SOCKRPC_TOOLS_CONFORMANCE_STRICT_RELAY_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/conformance/client_judge.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/socket.h"

namespace sockrpc {
namespace conformance {

class StrictRelay {
 public:
  struct Options {
    Address listen;
    Address upstream;
    uint32_t max_frame_size = 4u << 20;
    uint32_t max_metadata_size = 16u << 10;
  };

  // Binds and listens; `report` (borrowed) gathers the judgements.
  static absl::StatusOr<std::unique_ptr<StrictRelay>> Listen(
      const Options& options, ClientReport* report);

  ~StrictRelay();

  // The address clients connect to (with the real port for port 0).
  const Address& address() const { return listener_.address(); }

  // Relays until `stop_fd` becomes readable, then takes in what clients
  // sent before the stop (accepting connections still queued), closes
  // every connection, judging each, and returns.
  absl::Status Run(int stop_fd);

  // Connections refused because the upstream could not be reached.
  int upstream_failures() const { return upstream_failures_; }

 private:
  struct Connection;

  StrictRelay(Options options, Listener listener, ClientReport* report);

  // Accepts one connection and connects it upstream (or refuses it with a
  // GOAWAY if the upstream cannot be reached). False if none was waiting.
  bool Accept();
  // Reads what one side has; false once the connection is over.
  bool ReadClient(Connection& connection);
  bool ReadServer(Connection& connection);
  // Writes what is pending both ways; false on an error.
  static bool Flush(Connection& connection);
  void Close(Connection& connection);

  const Options options_;
  Listener listener_;
  ClientReport* const report_;
  std::list<Connection> connections_;
  uint64_t pings_sent_ = 0;
  int upstream_failures_ = 0;
};

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_STRICT_RELAY_H_
