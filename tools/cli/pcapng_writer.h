// PcapngWriter records the tap's connections in a pcapng capture file that
// Wireshark and tshark open: each connection becomes a synthetic TCP
// connection (handshake, data segments with correct sequence numbers, FIN
// or RST), carried as exported PDUs for the "sockrpc" dissector
// (tools/wireshark/sockrpc.lua), as docs/CAPTURE.md describes. Internal to
// the tool.
//
// Every call writes its blocks and flushes, so a tap that is killed leaves
// a readable file.
//
// Not thread-safe: the tap calls it under its output lock.
#ifndef SOCKRPC_TOOLS_CLI_PCAPNG_WRITER_H_
#define SOCKRPC_TOOLS_CLI_PCAPNG_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/cli/inspect_event.h"

namespace sockrpc {
namespace cli {

class PcapngWriter {
 public:
  // Creates (or truncates) `path` and writes the section header, whose
  // comment is `comment`, and the one interface.
  static absl::StatusOr<std::unique_ptr<PcapngWriter>> Create(
      const std::string& path, absl::string_view comment);
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // A client connected: the TCP handshake; `description` (the real ends)
  // becomes the SYN packet's comment.
  absl::Status Open(uint32_t connection, absl::Time time,
                    absl::string_view description);
  // Bytes sent in `direction`: one or more data segments.
  absl::Status Data(uint32_t connection, Direction direction, absl::Time time,
                    absl::string_view bytes);
  // `direction` ended: a FIN if `failure` is empty, else a RST whose
  // comment is `failure`.
  absl::Status End(uint32_t connection, Direction direction, absl::Time time,
                   absl::string_view failure);

 private:
  // Per connection: the next sequence number each side sends.
  struct TcpState {
    uint32_t next_seq[2] = {0, 0};
    bool ended[2] = {false, false};
  };

  explicit PcapngWriter(std::FILE* file) : file_(file) {}
  absl::Status WriteSegment(uint32_t connection, Direction direction,
                            absl::Time time, uint8_t tcp_flags, uint32_t seq,
                            uint32_t ack, absl::string_view payload,
                            absl::string_view comment);
  absl::Status WriteBlock(const std::string& block);

  std::FILE* file_;  // owned
  absl::flat_hash_map<uint32_t, TcpState> connections_;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_PCAPNG_WRITER_H_
