#include "tools/cli/pcapng_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli/capture_format.h"

namespace sockrpc {
namespace cli {
namespace {

// Blocks larger than this are taken as damage, not read.
constexpr uint32_t kMaxBlockSize = 16u << 20;

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kAck = 0x10;

uint16_t Big16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
uint32_t Big32(const char* p) {
  return (uint32_t{Big16(p)} << 16) | Big16(p + 2);
}

std::string Ipv4Text(uint32_t ip, uint16_t port) {
  return absl::StrFormat("%d.%d.%d.%d:%d", ip >> 24, (ip >> 16) & 0xFF,
                         (ip >> 8) & 0xFF, ip & 0xFF, port);
}

// Appends `size` bytes of `file` to *out; false if the file ends first.
// The buffer grows with what the file holds, not with what a (possibly
// damaged) block header claims: a 40-byte file announcing a 16 MiB block
// costs 40 bytes, not 16 MiB.
bool ReadUpTo(std::FILE* file, size_t size, std::string* out) {
  constexpr size_t kChunk = 64 * 1024;
  while (size > 0) {
    const size_t want = std::min(size, kChunk);
    const size_t old_size = out->size();
    out->resize(old_size + want);
    const size_t got = std::fread(&(*out)[old_size], 1, want, file);
    out->resize(old_size + got);
    if (got != want) return false;
    size -= got;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CaptureReader>> CaptureReader::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return FromFile(file, path);
}

absl::StatusOr<std::unique_ptr<CaptureReader>> CaptureReader::FromFile(
    std::FILE* file, absl::string_view name) {
  std::unique_ptr<CaptureReader> reader(new CaptureReader(file));
  char magic[4];
  if (std::fread(magic, 1, 4, file) != 4 ||
      Big32(magic) != kBlockSectionHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        name,
        " is not a pcapng capture (it does not start with a section "
        "header block); for the raw bytes of one direction use "
        "--raw-client or --raw-server"));
  }
  std::rewind(file);
  return reader;
}

CaptureReader::~CaptureReader() { std::fclose(file_); }

uint16_t CaptureReader::Get16(const char* p) const {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return swapped_ ? static_cast<uint16_t>((v >> 8) | (v << 8)) : v;
}

uint32_t CaptureReader::Get32(const char* p) const {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped_ ? __builtin_bswap32(v) : v;
}

absl::StatusOr<bool> CaptureReader::Next(CaptureRecord* record) {
  while (pending_.empty()) {
    absl::StatusOr<bool> more = ReadBlock();
    if (!more.ok()) {
      // Report the damage once; afterwards the file reads as ended.
      std::fseek(file_, 0, SEEK_END);
      return more.status();
    }
    if (!*more) return false;
  }
  *record = std::move(pending_.front());
  pending_.pop_front();
  return true;
}

absl::StatusOr<bool> CaptureReader::ReadBlock() {
  char head[8];
  const uint64_t block_offset = offset_;
  size_t got = std::fread(head, 1, 8, file_);
  if (got == 0) return false;
  auto damaged = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(
        "capture damaged at byte ", block_offset, ": ", what));
  };
  if (got < 8) return damaged("the file ends inside a block header");
  uint32_t type;
  std::memcpy(&type, head, 4);
  if (type == kBlockSectionHeader) {
    // The byte order is only known from the magic after the length.
    char magic[4];
    if (std::fread(magic, 1, 4, file_) != 4) {
      return damaged("the file ends inside a section header");
    }
    uint32_t order;
    std::memcpy(&order, magic, 4);
    if (order == kByteOrderMagic) {
      swapped_ = false;
    } else if (order == __builtin_bswap32(kByteOrderMagic)) {
      swapped_ = true;
    } else {
      return damaged("bad byte-order magic in a section header");
    }
    std::fseek(file_, -4, SEEK_CUR);
  }
  const uint32_t length = Get32(head + 4);
  if (length < 12 || length % 4 != 0 || length > kMaxBlockSize) {
    return damaged(absl::StrCat("bad block length ", length));
  }
  std::string body;
  if (!ReadUpTo(file_, length - 8, &body)) {
    return damaged(absl::StrCat("the file ends inside a block of ", length,
                                " bytes"));
  }
  offset_ += length;
  if (Get32(body.data() + body.size() - 4) != length) {
    return damaged("a block's trailing length does not match its header");
  }
  body.resize(body.size() - 4);
  absl::Status status;
  switch (Get32(head)) {
    case kBlockSectionHeader:
      status = ParseSectionHeader(body);
      break;
    case kBlockInterface:
      status = ParseInterface(body);
      break;
    case kBlockEnhancedPacket:
      if (body.size() < 20) {
        status = absl::DataLossError("enhanced packet block too short");
        break;
      }
      ParsePacket(body);
      break;
    default:
      break;  // other blocks (statistics, name resolution...) carry no data
  }
  if (!status.ok()) return damaged(status.message());
  return true;
}

absl::Status CaptureReader::ParseSectionHeader(const std::string& body) {
  if (body.size() < 16) return absl::DataLossError("section header too short");
  if (Get16(body.data() + 4) != 1) {
    return absl::DataLossError(absl::StrCat("unsupported pcapng version ",
                                            Get16(body.data() + 4)));
  }
  interfaces_.clear();  // interface ids are per section
  return absl::OkStatus();
}

absl::Status CaptureReader::ParseInterface(const std::string& body) {
  if (body.size() < 8) return absl::DataLossError("interface block too short");
  Interface interface;
  interface.link_type = Get16(body.data());
  size_t pos = 8;
  while (pos + 4 <= body.size()) {
    const uint16_t code = Get16(body.data() + pos);
    const uint16_t size = Get16(body.data() + pos + 2);
    pos += 4;
    if (code == kOptEnd || pos + size > body.size()) break;
    if (code == kOptIfTsResol && size >= 1) {
      const auto resolution = static_cast<uint8_t>(body[pos]);
      // 10^-n or, with the top bit, 2^-n seconds per tick; n is capped
      // where the count of ticks per second would leave 64 bits.
      const bool binary = (resolution & 0x80) != 0;
      const int exponent = std::min(resolution & 0x7F, binary ? 63 : 19);
      uint64_t ticks = 1;
      for (int i = 0; i < exponent; ++i) ticks *= binary ? 2 : 10;
      interface.ticks_per_second = ticks;
    }
    pos += (size + 3) & ~size_t{3};
  }
  interfaces_.push_back(interface);
  return absl::OkStatus();
}

void CaptureReader::ParsePacket(const std::string& body) {
  const uint32_t interface_id = Get32(body.data());
  const uint64_t ticks = (uint64_t{Get32(body.data() + 4)} << 32) |
                         Get32(body.data() + 8);
  const uint32_t captured = Get32(body.data() + 12);
  if (interface_id >= interfaces_.size() || captured > body.size() - 20) {
    ++skipped_packets_;
    return;
  }
  const Interface& interface = interfaces_[interface_id];
  absl::string_view packet(body.data() + 20, captured);
  // Options follow the padded packet data; only a comment matters.
  std::string comment;
  size_t pos = 20 + ((captured + 3) & ~size_t{3});
  while (pos + 4 <= body.size()) {
    const uint16_t code = Get16(body.data() + pos);
    const uint16_t size = Get16(body.data() + pos + 2);
    pos += 4;
    if (code == kOptEnd || pos + size > body.size()) break;
    if (code == kOptComment) comment.assign(body.data() + pos, size);
    pos += (size + 3) & ~size_t{3};
  }
  // The fraction of a second, in ticks, is below ticks_per_second (up to
  // 2^63): scaled to nanoseconds it needs 128 bits.
  const uint64_t per_second = interface.ticks_per_second;
  const absl::uint128 nanos =
      absl::uint128(ticks % per_second) * 1000000000 / per_second;
  const absl::Time time =
      absl::FromUnixSeconds(static_cast<int64_t>(ticks / per_second)) +
      absl::Nanoseconds(static_cast<int64_t>(absl::Uint128Low64(nanos)));
  AddPacket(interface, time, packet, comment);
}

namespace {

// What an exported PDU's tags say about its TCP segment.
struct CaptureSegmentFields {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint8_t flags = 0;
  absl::string_view payload;
};

// Reads the tags of an exported PDU (docs/CAPTURE.md) into the addresses
// and *fields; false if a tag is cut short or the addresses or the TCP
// info are missing.
bool ParseExportedPdu(absl::string_view packet, uint32_t* src_ip,
                      uint32_t* dst_ip, CaptureSegmentFields* fields) {
  bool have_tcp = false, have_src = false, have_dst = false;
  while (packet.size() >= 4) {
    const uint16_t tag = Big16(packet.data());
    const uint16_t size = Big16(packet.data() + 2);
    packet.remove_prefix(4);
    if (size > packet.size()) return false;
    absl::string_view value = packet.substr(0, size);
    packet.remove_prefix(size);
    if (tag == kTagEnd) {
      fields->payload = packet;
      return have_tcp && have_src && have_dst;
    }
    if (tag == kTagIpv4Source && size == 4) {
      *src_ip = Big32(value.data());
      have_src = true;
    } else if (tag == kTagIpv4Destination && size == 4) {
      *dst_ip = Big32(value.data());
      have_dst = true;
    } else if (tag == kTagSourcePort && size == 4) {
      fields->src_port = static_cast<uint16_t>(Big32(value.data()));
    } else if (tag == kTagDestinationPort && size == 4) {
      fields->dst_port = static_cast<uint16_t>(Big32(value.data()));
    } else if (tag == kTagTcpInfo && size >= kTcpInfoSize) {
      fields->seq = Big32(value.data() + 2);
      fields->flags = static_cast<uint8_t>(Big16(value.data() + 15));
      have_tcp = true;
    }
  }
  return false;
}

}  // namespace

void CaptureReader::AddPacket(const Interface& interface, absl::Time time,
                              absl::string_view packet,
                              absl::string_view comment) {
  if (interface.link_type == kLinkTypeUpperPdu) {
    CaptureSegmentFields fields;
    uint32_t src_ip = 0, dst_ip = 0;
    if (!ParseExportedPdu(packet, &src_ip, &dst_ip, &fields)) {
      ++skipped_packets_;
      return;
    }
    AddSegment(time, Endpoint{src_ip, fields.src_port},
               Endpoint{dst_ip, fields.dst_port}, fields.seq, fields.flags,
               fields.payload, comment);
    return;
  }
  // Find the IPv4 header.
  uint16_t ether_type = 0x0800;
  switch (interface.link_type) {
    case kLinkTypeEthernet:
      if (packet.size() < 14) break;
      ether_type = Big16(packet.data() + 12);
      packet.remove_prefix(14);
      if (ether_type == 0x8100 && packet.size() >= 4) {  // one VLAN tag
        ether_type = Big16(packet.data() + 2);
        packet.remove_prefix(4);
      }
      break;
    case kLinkTypeRaw:
    case kLinkTypeIpv4:
      break;
    case 113:  // Linux cooked capture v1
      if (packet.size() < 16) break;
      ether_type = Big16(packet.data() + 14);
      packet.remove_prefix(16);
      break;
    case 276:  // Linux cooked capture v2
      if (packet.size() < 20) break;
      ether_type = Big16(packet.data());
      packet.remove_prefix(20);
      break;
    default:
      ether_type = 0;
  }
  if (ether_type != 0x0800 || packet.size() < 20 ||
      (static_cast<uint8_t>(packet[0]) >> 4) != 4 ||
      static_cast<uint8_t>(packet[9]) != 6) {
    ++skipped_packets_;
    return;
  }
  const size_t ip_header = (static_cast<uint8_t>(packet[0]) & 0x0F) * 4;
  const size_t ip_total = Big16(packet.data() + 2);
  if (ip_header < 20 || ip_total < ip_header + 20 || ip_total > packet.size()) {
    ++skipped_packets_;
    return;
  }
  const Endpoint src{Big32(packet.data() + 12), 0};
  const Endpoint dst{Big32(packet.data() + 16), 0};
  absl::string_view tcp = packet.substr(ip_header, ip_total - ip_header);
  const size_t tcp_header = (static_cast<uint8_t>(tcp[12]) >> 4) * 4;
  if (tcp_header < 20 || tcp_header > tcp.size()) {
    ++skipped_packets_;
    return;
  }
  Endpoint from = src, to = dst;
  from.port = Big16(tcp.data());
  to.port = Big16(tcp.data() + 2);
  AddSegment(time, from, to, Big32(tcp.data() + 4),
             static_cast<uint8_t>(tcp[13]), tcp.substr(tcp_header), comment);
}

void CaptureReader::AddSegment(absl::Time time, Endpoint from, Endpoint to,
                               uint32_t seq, uint8_t flags,
                               absl::string_view payload,
                               absl::string_view comment) {
  // Which connection, and which side is the client?
  const bool synthetic_to_server =
      to.ip == kServerIpv4 && to.port == kServerPort;
  const bool synthetic_from_server =
      from.ip == kServerIpv4 && from.port == kServerPort;
  auto key_from_client = std::make_tuple(from.ip, from.port, to.ip, to.port);
  auto key_to_client = std::make_tuple(to.ip, to.port, from.ip, from.port);
  TcpConnection* connection = nullptr;
  Direction direction = Direction::kClientToServer;
  if (auto it = connections_.find(key_from_client);
      it != connections_.end()) {
    connection = &it->second;
  } else if (auto it2 = connections_.find(key_to_client);
             it2 != connections_.end()) {
    connection = &it2->second;
    direction = Direction::kServerToClient;
  } else {
    // A new connection: the synthetic server, or else the SYN's sender
    // (or, with no SYN seen, whoever spoke first), is told apart.
    const bool client_is_to = synthetic_from_server ||
                              ((flags & kSyn) && (flags & kAck) &&
                               !synthetic_to_server);
    TcpConnection fresh;
    fresh.client = client_is_to ? to : from;
    const Endpoint server = client_is_to ? from : to;
    fresh.id = (synthetic_to_server || synthetic_from_server)
                   ? ConnectionOf(fresh.client.ip, fresh.client.port)
                   : next_generic_id_++;
    direction = client_is_to ? Direction::kServerToClient
                             : Direction::kClientToServer;
    connection = &connections_[std::make_tuple(
        fresh.client.ip, fresh.client.port, server.ip, server.port)];
    *connection = fresh;
    CaptureRecord open;
    open.kind = CaptureRecord::Kind::kOpen;
    open.time = time;
    open.connection = fresh.id;
    open.text = (flags & kSyn) && !(flags & kAck) && !comment.empty()
                    ? std::string(comment)
                    : absl::StrCat("client ",
                                   Ipv4Text(fresh.client.ip, fresh.client.port),
                                   " -> server ",
                                   Ipv4Text(server.ip, server.port));
    pending_.push_back(std::move(open));
  }
  const int side = static_cast<int>(direction);

  // Sequence tracking: drop bytes already delivered (retransmissions).
  uint32_t data_seq = seq + ((flags & kSyn) ? 1 : 0);
  if (!connection->seq_known[side]) {
    connection->seq_known[side] = true;
    connection->next_seq[side] = data_seq;
  }
  const auto behind =
      static_cast<int32_t>(connection->next_seq[side] - data_seq);
  if (behind > 0) {
    payload.remove_prefix(std::min<size_t>(payload.size(), behind));
  }
  if (!payload.empty()) {
    CaptureRecord data;
    data.kind = CaptureRecord::Kind::kData;
    data.time = time;
    data.connection = connection->id;
    data.direction = direction;
    data.bytes = std::string(payload);
    pending_.push_back(std::move(data));
    connection->next_seq[side] = data_seq + (behind > 0 ? behind : 0) +
                                 static_cast<uint32_t>(payload.size());
  }
  if ((flags & (kFin | kRst)) && !connection->ended[side]) {
    connection->ended[side] = true;
    CaptureRecord end;
    end.kind = CaptureRecord::Kind::kEnd;
    end.time = time;
    end.connection = connection->id;
    end.direction = direction;
    if (flags & kRst) {
      end.text = comment.empty() ? "connection reset (TCP RST)"
                                 : std::string(comment);
    }
    pending_.push_back(std::move(end));
    if (flags & kFin) connection->next_seq[side] += 1;
  }
}

}  // namespace cli
}  // namespace sockrpc
