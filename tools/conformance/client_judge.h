// ClientJudge: the client side of `sockrpc conformance`. It watches one
// connection's traffic, as a strict server would see it, and judges every
// frame the client sends against the rules of docs/PROTOCOL.md that bind a
// client. Each rule is a ClientCheck (id "C" + the section, then a
// number); a ClientReport gathers, over all connections, how often each
// rule was exercised and the first time it was broken.
//
// The judge only reads. StrictRelay (strict_relay.h) feeds it both
// directions and adds the frames a client must cope with (a PING, which
// the client must answer; frames of unknown types; a WINDOW_UPDATE on
// stream 0).
//
// Thread-compatible: one thread drives all judges and the report.
#ifndef SOCKRPC_TOOLS_CONFORMANCE_CLIENT_JUDGE_H_
#define SOCKRPC_TOOLS_CONFORMANCE_CLIENT_JUDGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/conformance/wire_peer.h"

namespace sockrpc {
namespace conformance {

struct ClientCheck {
  const char* id;     // "C6.1/1"
  const char* title;  // the rule, as a sentence
};

// Every client check, in the order of PROTOCOL.md.
const std::vector<ClientCheck>& ClientChecks();

class ClientReport {
 public:
  struct Entry {
    int exercised = 0;  // frames (or connections) the rule applied to
    bool failed = false;
    std::string expected;  // the first failure
    std::string got;
    std::string received;  // the client's bytes up to it
  };

  void Exercised(const char* id) { ++entries_[id].exercised; }
  // Records a failure of rule `id`; only the first one is kept.
  void Fail(const char* id, std::string expected, std::string got,
            absl::string_view received);

  // The entry of `id` (a rule never exercised has exercised == 0).
  Entry Get(const std::string& id) const;

  void AddConnection() { ++connections_; }
  int connections() const { return connections_; }

 private:
  std::map<std::string, Entry> entries_;
  int connections_ = 0;
};

class ClientJudge {
 public:
  ClientJudge(ClientReport* report, uint32_t max_frame_size,
              uint32_t max_metadata_size);

  // Bytes from the client, in order, cut however the socket cut them.
  // Returns the bytes to pass on to the server: all of them, except the
  // client's answers to PINGs the relay sent (PingSent()).
  std::string FromClient(absl::string_view bytes);
  // Bytes from the server (or added by the relay) on their way to the
  // client, in order: the judge follows the client's send windows.
  void ToClient(absl::string_view bytes);
  // The relay sent the client a PING carrying `payload` at `when`.
  void PingSent(std::string payload, absl::Time when);
  // The connection ended at `when`: judges the PINGs left unanswered.
  void Closed(absl::Time when);

 private:
  struct Stream {
    bool half_closed = false;
    int64_t window = 65536;  // the client's send window
  };

  // Judges one whole frame from the client; false to drop it (it answers
  // a PING of the relay's).
  bool JudgeFrame(const RawFrame& frame);
  void JudgeHeaders(const RawFrame& frame);
  void Fail(const char* id, std::string expected, std::string got);

  ClientReport* const report_;
  const uint32_t max_frame_size_;
  const uint32_t max_metadata_size_;
  // The client's first bytes (up to kKeptBytes), shown with a failure.
  static constexpr size_t kKeptBytes = 64 * 1024;
  std::string client_bytes_;
  std::string client_pending_;
  std::string server_pending_;
  size_t server_preface_left_ = 8;
  bool preface_judged_ = false;
  bool preface_ok_ = false;
  uint32_t last_stream_id_ = 0;
  std::map<uint32_t, Stream> streams_;
  std::map<std::string, absl::Time> pings_;  // payload -> when sent
};

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CONFORMANCE_CLIENT_JUDGE_H_
