// Probe: the steps a conformance check is written in. A check opens a
// Probe (one connection to the server under test), sends frames, and reads
// what the rule says must come back. Each step returns false once anything
// differs from the rule and records the first difference: what was
// expected, what came instead, and every byte received so far. The check
// then returns outcome(). Internal to tools/conformance.
//
//   Probe probe(config);
//   if (!probe.Handshake()) return probe.outcome();
//   probe.Send(UnaryCall(1, config.method, config.request));
//   CallReply reply;
//   if (!probe.ReadCall(1, &reply)) return probe.outcome();
//   if (reply.code != 0) return probe.Fail("STATUS 0", reply.Describe());
//   return probe.outcome();
//
// Thread-compatible.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_PROBE_H_
#define SOCKRPC_TOOLS_CONFORMANCE_PROBE_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/conformance/check.h"
#include "tools/conformance/frames.h"
#include "tools/conformance/wire_peer.h"

namespace sockrpc {
namespace conformance {

// CallReply: the server's frames on one stream, up to its STATUS.
struct CallReply {
  std::vector<RawFrame> frames;       // every frame of the stream, in order
  std::optional<Entries> initial;     // the HEADERS' metadata, if any
  std::vector<std::string> messages;  // MESSAGE payloads
  uint32_t code = 0;                  // the STATUS
  std::string message;
  Entries trailing;

  // "HEADERS, MESSAGE, STATUS 0" and the status message.
  std::string Describe() const;
};

class Probe {
 public:
  explicit Probe(const CheckConfig& config);

  // Connects and sends nothing.
  bool Connect();
  // Connects, sends our preface and reads the server's.
  bool Handshake();

  bool Send(absl::string_view bytes);

  // The next frame a check judges; `waiting_for` says in a failure what
  // the check was waiting for. Skips what any server may send at any time:
  // frames of unknown types, WINDOW_UPDATE on stream 0, and PINGs (which
  // it answers). The connection closing is a failure.
  std::optional<RawFrame> Next(absl::string_view waiting_for);
  // Like Next(), but the connection closing (or being reset) at a frame
  // boundary is no failure: it returns nothing and failed() stays false.
  std::optional<RawFrame> NextOrEnd(absl::string_view waiting_for);
  // Whether `frame` is one Next() skips: what a server may send at any
  // time (an unknown type, WINDOW_UPDATE on stream 0, a PING).
  static bool IsBackground(const RawFrame& frame);

  // Reads frames until the STATUS of `stream_id`, checking on the way that
  // the stream's frames follow section 6.3/6.4's pattern: [HEADERS]
  // MESSAGE... STATUS, no END_STREAM set by the server, reserved bytes 0.
  // Frames of other streams are kept for the next ReadCall(); a GOAWAY or
  // the connection ending first is a failure.
  bool ReadCall(uint32_t stream_id, CallReply* reply);

  // ReadCall, then checks that the call ended with STATUS `code`, its
  // message containing `message_part`, and (if code is not 0) no MESSAGE.
  bool ExpectStatus(uint32_t stream_id, uint32_t code,
                    absl::string_view message_part, CallReply* reply = nullptr);

  // Sends a PING and reads until its ACK with the same payload. Everything
  // that arrived before the ACK is put in `*before` (if given). The server
  // reads a connection's frames in order, so when the ACK arrives it has
  // read everything sent before the PING.
  bool PingBarrier(std::vector<RawFrame>* before = nullptr);

  // Reads until a GOAWAY arrives (failing at any call frame first, unless
  // `skip_call_frames`), checks its code, that its message contains
  // `message_part` and (if given) its last_stream_id, then that the server
  // closes the connection.
  bool ExpectGoAwayAndClose(uint32_t code, absl::string_view message_part,
                            std::optional<uint32_t> last_stream_id,
                            bool skip_call_frames = false);

  // Records a failure (the first one wins) and returns the outcome.
  Outcome Fail(absl::string_view expected, absl::string_view got);
  // Pass, or the recorded failure.
  Outcome outcome() const { return outcome_; }
  bool failed() const { return outcome_.verdict == Verdict::kFail; }

  const CheckConfig& config() const { return config_; }
  // When a step must be done: --timeout from now, and never after the
  // whole check's deadline (a few timeouts from its start), so that a
  // server sending frames without end cannot hold a check forever.
  absl::Time Deadline() const {
    return std::min(absl::Now() + config_.timeout, check_deadline_);
  }
  WirePeer& peer() { return *peer_; }

 private:
  // Describes a read that failed: "the connection closed after 3 of 12
  // bytes".
  static std::string ReadFailure(const absl::Status& status);

  const CheckConfig& config_;
  std::unique_ptr<WirePeer> peer_;
  const absl::Time check_deadline_;
  std::string end_;             // how the connection ended, once it has
  std::vector<RawFrame> held_;  // read by ReadCall for another stream
  uint64_t next_ping_ = 0x636f6e666f726d00;  // "conform" + a counter
  Outcome outcome_;
};

// The wire name of `code`: "0 OK", "13 INTERNAL".
std::string CodeName(uint32_t code);

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_PROBE_H_
