// WireLoad: many sockrpc connections driven by hand-built frames from one
// thread with epoll, for the open-streams benchmarks. Internal to bench/.
//
// Holding 100,000 open calls through the client library would take
// 100,000 call objects (and the library has no callback API yet); here a
// call is a stream id and a few bytes queued on a connection. WireLoad
// speaks exactly docs/PROTOCOL.md: it sends the preface, HEADERS and a
// MESSAGE with END_STREAM per call, CANCEL and PING; it reads every frame
// and counts MESSAGE, STATUS (and failed ones) and PING ACK per
// connection. It returns no flow-control window: fine for the few small
// messages per call these benchmarks receive.
//
// Not thread-safe: one thread calls everything.
#ifndef SOCKRPC_BENCH_WIRE_LOAD_H_
#define SOCKRPC_BENCH_WIRE_LOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "transport/fd.h"

namespace sockrpc {
namespace bench {

// WireCounts: what one connection has received so far.
struct WireCounts {
  int64_t messages = 0;    // MESSAGE frames
  int64_t statuses = 0;    // STATUS frames, OK or not
  int64_t errors = 0;      // STATUS frames with a code other than OK
  int64_t ping_acks = 0;   // PING frames with ACK
  std::string last_error;  // the last non-OK STATUS or GOAWAY, as text
  bool closed = false;     // closed by us, by the server, or on an error
};

class WireLoad {
 public:
  // `address`: "unix:PATH" (or "ipv4:HOST:PORT").
  explicit WireLoad(std::string address);
  ~WireLoad();
  WireLoad(const WireLoad&) = delete;
  WireLoad& operator=(const WireLoad&) = delete;

  // Opens `count` more connections, each with our preface queued. False
  // (message on stderr) if one did not connect.
  bool Open(int count);
  int size() const { return static_cast<int>(connections_.size()); }

  // Queues a call of `method` ("/pkg.Service/Method") with `request` on
  // connection `i`: HEADERS, then one MESSAGE with END_STREAM. Returns its
  // stream id.
  uint32_t StartCall(int i, absl::string_view method,
                     const google::protobuf::MessageLite& request);
  // Queues a CANCEL of `stream_id`, or a PING, on connection `i`.
  void Cancel(int i, uint32_t stream_id);
  void Ping(int i);
  // Closes connection `i` at once (the server sees it gone).
  void Close(int i);

  // Writes what is queued and reads what arrives until `done()` holds
  // (checked before waiting and after each batch of events), or until
  // `timeout_seconds` pass. Returns done().
  bool Pump(absl::FunctionRef<bool()> done, double timeout_seconds);
  // Pump until every queued byte is written.
  bool Flush(double timeout_seconds);

  const WireCounts& counts(int i) const { return connections_[i].counts; }
  // MESSAGE frames received on every connection.
  int64_t total_messages() const { return total_messages_; }

 private:
  struct Connection {
    Fd fd;
    std::string out;  // queued bytes, from out_offset on
    size_t out_offset = 0;
    std::string in;  // received bytes, from in_offset on
    size_t in_offset = 0;
    bool preface_seen = false;
    bool want_write = false;  // EPOLLOUT registered
    uint32_t next_stream_id = 1;
    WireCounts counts;
  };

  // Writes connection `i`'s queue as far as the socket takes it.
  void Write(int i);
  // Reads what connection `i` has and handles its complete frames.
  void Read(int i);
  // Handles the complete frames in connection `i`'s buffer.
  void Parse(int i);
  void Fail(int i, const std::string& why);
  void Watch(int i, bool want_write);

  const std::string address_;
  Fd epoll_;
  std::vector<Connection> connections_;
  int64_t total_messages_ = 0;
  std::vector<char> read_buffer_;
};

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_WIRE_LOAD_H_
