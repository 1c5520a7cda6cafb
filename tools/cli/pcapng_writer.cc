#include "tools/cli/pcapng_writer.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/cli/capture_format.h"

namespace sockrpc {
namespace cli {
namespace {

// TCP header flags.
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;

// pcapng is written in this host's byte order (the byte-order magic tells
// readers which); network headers inside packets are big-endian.
void PutHost16(uint16_t v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), 2);
}
void PutHost32(uint32_t v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), 4);
}
void PutBig16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}
void PutBig32(uint32_t v, std::string* out) {
  PutBig16(static_cast<uint16_t>(v >> 16), out);
  PutBig16(static_cast<uint16_t>(v), out);
}

void PadTo4(std::string* out) {
  while (out->size() % 4 != 0) out->push_back('\0');
}

// Appends one pcapng option (code, length, value, padding).
void PutOption(uint16_t code, absl::string_view value, std::string* out) {
  PutHost16(code, out);
  PutHost16(static_cast<uint16_t>(value.size()), out);
  out->append(value.data(), value.size());
  PadTo4(out);
}

// Wraps `body` as a block of `type`: type, total length, body, total
// length. `body` must be a multiple of 4 bytes.
std::string Block(uint32_t type, const std::string& body) {
  std::string block;
  const uint32_t total = static_cast<uint32_t>(body.size() + 12);
  PutHost32(type, &block);
  PutHost32(total, &block);
  block.append(body);
  PutHost32(total, &block);
  return block;
}

// Appends one exported-PDU tag: type, length, value (not padded).
void PutTag(uint16_t type, absl::string_view value, std::string* out) {
  PutBig16(type, out);
  PutBig16(static_cast<uint16_t>(value.size()), out);
  out->append(value.data(), value.size());
}
std::string Big32Text(uint32_t v) {
  std::string text;
  PutBig32(v, &text);
  return text;
}

// An exported PDU for the "sockrpc" dissector: the tags give the synthetic
// addresses, ports and TCP sequence numbers and flags, then `payload`.
std::string ExportedPdu(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                        uint16_t dst_port, uint8_t tcp_flags, uint32_t seq,
                        uint32_t ack, absl::string_view payload) {
  std::string tcp_info;
  PutBig16(kTcpInfoVersion, &tcp_info);
  PutBig32(seq, &tcp_info);
  PutBig32(seq + static_cast<uint32_t>(payload.size()), &tcp_info);
  PutBig32((tcp_flags & kAck) ? ack : 0, &tcp_info);
  tcp_info.push_back(0);  // not reassembled
  PutBig16(tcp_flags, &tcp_info);
  PutBig16(0, &tcp_info);  // urgent pointer

  std::string packet;
  PutTag(kTagDissectorName, kDissectorName, &packet);
  PutTag(kTagIpv4Source, Big32Text(src_ip), &packet);
  PutTag(kTagIpv4Destination, Big32Text(dst_ip), &packet);
  PutTag(kTagPortType, Big32Text(kPortTypeTcp), &packet);
  PutTag(kTagSourcePort, Big32Text(src_port), &packet);
  PutTag(kTagDestinationPort, Big32Text(dst_port), &packet);
  PutTag(kTagTcpInfo, tcp_info, &packet);
  PutTag(kTagEnd, "", &packet);
  packet.append(payload.data(), payload.size());
  return packet;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PcapngWriter>> PcapngWriter::Create(
    const std::string& path, absl::string_view comment) {
  std::FILE* file = std::fopen(path.c_str(), "wbe");
  if (file == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<PcapngWriter> writer(new PcapngWriter(file));

  std::string shb;
  PutHost32(kByteOrderMagic, &shb);
  PutHost16(1, &shb);  // version 1.0
  PutHost16(0, &shb);
  PutHost32(0xFFFFFFFF, &shb);  // section length: not given
  PutHost32(0xFFFFFFFF, &shb);
  if (!comment.empty()) PutOption(kOptComment, comment, &shb);
  PutOption(kOptShbUserAppl, "sockrpc tap", &shb);
  PutOption(kOptEnd, "", &shb);
  absl::Status status = writer->WriteBlock(Block(kBlockSectionHeader, shb));
  if (!status.ok()) return status;

  std::string idb;
  PutHost16(kLinkTypeUpperPdu, &idb);
  PutHost16(0, &idb);
  PutHost32(kSnapLength, &idb);
  PutOption(kOptIfName, "sockrpc-tap", &idb);
  PutOption(kOptIfTsResol, std::string(1, '\x06'), &idb);  // microseconds
  PutOption(kOptEnd, "", &idb);
  status = writer->WriteBlock(Block(kBlockInterface, idb));
  if (!status.ok()) return status;
  return writer;
}

PcapngWriter::~PcapngWriter() { std::fclose(file_); }

absl::Status PcapngWriter::WriteBlock(const std::string& block) {
  if (std::fwrite(block.data(), 1, block.size(), file_) != block.size() ||
      std::fflush(file_) != 0) {
    return absl::UnavailableError(
        absl::StrCat("writing the capture failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status PcapngWriter::WriteSegment(uint32_t connection,
                                        Direction direction, absl::Time time,
                                        uint8_t tcp_flags, uint32_t seq,
                                        uint32_t ack,
                                        absl::string_view payload,
                                        absl::string_view comment) {
  const bool from_client = direction == Direction::kClientToServer;
  const uint32_t client_ip = ClientIpv4(connection);
  const uint16_t client_port = ClientPort(connection);
  std::string packet =
      from_client ? ExportedPdu(client_ip, client_port, kServerIpv4,
                                kServerPort, tcp_flags, seq, ack, payload)
                  : ExportedPdu(kServerIpv4, kServerPort, client_ip,
                                client_port, tcp_flags, seq, ack, payload);
  const int64_t micros = absl::ToUnixMicros(time);
  std::string epb;
  PutHost32(0, &epb);  // interface 0
  PutHost32(static_cast<uint32_t>(static_cast<uint64_t>(micros) >> 32), &epb);
  PutHost32(static_cast<uint32_t>(micros), &epb);
  PutHost32(static_cast<uint32_t>(packet.size()), &epb);
  PutHost32(static_cast<uint32_t>(packet.size()), &epb);
  epb.append(packet);
  PadTo4(&epb);
  if (!comment.empty()) {
    PutOption(kOptComment, comment.substr(0, 65000), &epb);
    PutOption(kOptEnd, "", &epb);
  }
  return WriteBlock(Block(kBlockEnhancedPacket, epb));
}

absl::Status PcapngWriter::Open(uint32_t connection, absl::Time time,
                                absl::string_view description) {
  // Both sides start from sequence number 0; the SYN takes one.
  connections_[connection] = TcpState{{1, 1}, {false, false}};
  absl::Status status = WriteSegment(connection, Direction::kClientToServer,
                                     time, kSyn, 0, 0, "", description);
  if (status.ok()) {
    status = WriteSegment(connection, Direction::kServerToClient, time,
                          kSyn | kAck, 0, 1, "", "");
  }
  if (status.ok()) {
    status = WriteSegment(connection, Direction::kClientToServer, time, kAck,
                          1, 1, "", "");
  }
  return status;
}

absl::Status PcapngWriter::Data(uint32_t connection, Direction direction,
                                absl::Time time, absl::string_view bytes) {
  TcpState& state = connections_[connection];
  const int side = static_cast<int>(direction);
  while (!bytes.empty()) {
    absl::string_view segment = bytes.substr(0, kMaxSegmentPayload);
    absl::Status status =
        WriteSegment(connection, direction, time, kPsh | kAck,
                     state.next_seq[side], state.next_seq[1 - side], segment,
                     "");
    if (!status.ok()) return status;
    state.next_seq[side] += static_cast<uint32_t>(segment.size());
    bytes.remove_prefix(segment.size());
  }
  return absl::OkStatus();
}

absl::Status PcapngWriter::End(uint32_t connection, Direction direction,
                               absl::Time time, absl::string_view failure) {
  TcpState& state = connections_[connection];
  const int side = static_cast<int>(direction);
  const uint8_t flags = failure.empty() ? (kFin | kAck) : (kRst | kAck);
  absl::Status status =
      WriteSegment(connection, direction, time, flags, state.next_seq[side],
                   state.next_seq[1 - side], "", failure);
  if (failure.empty()) state.next_seq[side] += 1;  // the FIN takes one
  state.ended[side] = true;
  if (state.ended[0] && state.ended[1]) connections_.erase(connection);
  return status;
}

}  // namespace cli
}  // namespace sockrpc
