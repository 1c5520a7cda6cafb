// CaptureReader reads a pcapng capture back into the tap's records: a
// connection opened, bytes in one direction, a direction ended. It reads
// the tap's own files (docs/CAPTURE.md: exported PDUs, link type 252, and
// the Ethernet/IPv4/TCP packets of older taps), and also ordinary captures of
// sockrpc over TCP (IPv4 over Ethernet, raw IP or Linux cooked capture), as
// tcpdump or tshark write them in pcapng: connections are told apart by
// their address pairs, the client is the side that sent the SYN (or spoke
// first), and retransmitted bytes are dropped by sequence number.
// Internal to the tool.
//
// A damaged file is not fatal: Next() returns the records before the damage
// and then DATA_LOSS saying where and what.
//
// Not thread-safe: one thread reads at a time.
#ifndef SOCKRPC_TOOLS_CLI_PCAPNG_READER_H_
#define SOCKRPC_TOOLS_CLI_PCAPNG_READER_H_

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/cli/inspect_event.h"

namespace sockrpc {
namespace cli {

struct CaptureRecord {
  enum class Kind {
    kOpen,  // a connection began; `text`: its description
    kData,  // `bytes` went in `direction`
    kEnd,   // `direction` ended; `text`: "" for FIN, else why it failed
  };
  Kind kind = Kind::kData;
  absl::Time time;
  uint32_t connection = 0;
  Direction direction = Direction::kClientToServer;
  std::string bytes;
  std::string text;
};

class CaptureReader {
 public:
  // Opens `path`. NOT_FOUND if it cannot be opened; INVALID_ARGUMENT if it
  // does not start like a pcapng file.
  static absl::StatusOr<std::unique_ptr<CaptureReader>> Open(
      const std::string& path);
  // The same for an open stream (fmemopen(), say), which the reader owns
  // from here on, even on failure; `name` names it in messages.
  static absl::StatusOr<std::unique_ptr<CaptureReader>> FromFile(
      std::FILE* file, absl::string_view name);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // Stores the next record in *record and returns true; false at the end
  // of the file. DATA_LOSS if the file is damaged at this point.
  absl::StatusOr<bool> Next(CaptureRecord* record);

  // Packets skipped because they were not IPv4/TCP on a known link type.
  uint64_t skipped_packets() const { return skipped_packets_; }

 private:
  // One side of a TCP connection seen in the capture.
  struct Endpoint {
    uint32_t ip = 0;
    uint16_t port = 0;
    bool operator==(const Endpoint& other) const {
      return ip == other.ip && port == other.port;
    }
  };
  struct TcpConnection {
    uint32_t id = 0;
    Endpoint client;
    bool seq_known[2] = {false, false};
    uint32_t next_seq[2] = {0, 0};
    bool ended[2] = {false, false};  // a FIN or RST was seen
  };
  struct Interface {
    uint16_t link_type = 0;
    uint64_t ticks_per_second = 1000000;  // 1 to 2^63 (if_tsresol)
  };

  explicit CaptureReader(std::FILE* file) : file_(file) {}
  // Reads one block into pending_ (as records). False at a clean end.
  absl::StatusOr<bool> ReadBlock();
  absl::Status ParseSectionHeader(const std::string& body);
  absl::Status ParseInterface(const std::string& body);
  void ParsePacket(const std::string& body);
  // Turns one link-layer packet into records (through AddSegment).
  void AddPacket(const Interface& interface, absl::Time time,
                 absl::string_view packet, absl::string_view comment);
  // Turns one TCP segment from `from` to `to` into records.
  void AddSegment(absl::Time time, Endpoint from, Endpoint to, uint32_t seq,
                  uint8_t flags, absl::string_view payload,
                  absl::string_view comment);
  uint16_t Get16(const char* p) const;
  uint32_t Get32(const char* p) const;

  std::FILE* file_;  // owned
  uint64_t offset_ = 0;
  bool swapped_ = false;  // the section is in the other byte order
  std::vector<Interface> interfaces_;
  std::deque<CaptureRecord> pending_;
  // Keyed by (client ip, client port, server ip, server port).
  absl::flat_hash_map<std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>,
                      TcpConnection>
      connections_;
  uint32_t next_generic_id_ = 1;
  uint64_t skipped_packets_ = 0;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_PCAPNG_READER_H_
