// The constants of the tap's capture files: pcapng (the format Wireshark
// and tshark read) holding Wireshark "exported PDUs" (link type 252) for
// the dissector named "sockrpc", each tagged with synthetic IPv4 addresses,
// TCP ports and TCP sequence numbers and flags: one synthetic TCP
// connection per tap connection. Files written before this format used
// Ethernet/IPv4/TCP packets with the same addresses; the reader takes
// both. docs/CAPTURE.md is the specification; this header is its code.
// Internal to the tool.
//
// Thread-safe: constants and pure functions.
#ifndef SOCKRPC_TOOLS_CLI_CAPTURE_FORMAT_H_
#define SOCKRPC_TOOLS_CLI_CAPTURE_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace sockrpc {
namespace cli {

// pcapng block types and option codes used.
inline constexpr uint32_t kBlockSectionHeader = 0x0A0D0D0A;
inline constexpr uint32_t kBlockInterface = 0x00000001;
inline constexpr uint32_t kBlockSimplePacket = 0x00000003;
inline constexpr uint32_t kBlockEnhancedPacket = 0x00000006;
inline constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
inline constexpr uint16_t kOptEnd = 0;
inline constexpr uint16_t kOptComment = 1;
inline constexpr uint16_t kOptShbUserAppl = 4;
inline constexpr uint16_t kOptIfName = 2;
inline constexpr uint16_t kOptIfTsResol = 9;

// Link types read; the writer uses kLinkTypeUpperPdu (older writers used
// Ethernet).
inline constexpr uint16_t kLinkTypeEthernet = 1;
inline constexpr uint16_t kLinkTypeUpperPdu = 252;
inline constexpr uint16_t kLinkTypeRaw = 101;
inline constexpr uint16_t kLinkTypeIpv4 = 228;
inline constexpr uint32_t kSnapLength = 262144;

// Exported PDU tags (type, length: 16 bits big-endian each; the value, not
// padded). The dissector name is kDissectorName; the TCP info value is
// version 1: version (16), seq, next seq, ack (32 each), is_reassembled
// (8), TCP flags (16), urgent pointer (16), big-endian.
inline constexpr uint16_t kTagEnd = 0;
inline constexpr uint16_t kTagDissectorName = 12;
inline constexpr uint16_t kTagIpv4Source = 20;
inline constexpr uint16_t kTagIpv4Destination = 21;
inline constexpr uint16_t kTagPortType = 24;
inline constexpr uint16_t kTagSourcePort = 25;
inline constexpr uint16_t kTagDestinationPort = 26;
inline constexpr uint16_t kTagTcpInfo = 34;
inline constexpr uint32_t kPortTypeTcp = 2;
inline constexpr uint16_t kTcpInfoVersion = 1;
inline constexpr size_t kTcpInfoSize = 19;
inline constexpr char kDissectorName[] = "sockrpc";

// The synthetic addresses. Connection id N (from 1) is the client
// 10.A.B.C:P, where A.B.C are the low 24 bits of N and P is 49152 plus the
// high 8 bits; every connection goes to the server 192.0.2.1:47474.
inline constexpr uint32_t kServerIpv4 = 0xC0000201;  // 192.0.2.1
inline constexpr uint16_t kServerPort = 47474;
inline constexpr uint32_t kClientNetwork = 0x0A000000;  // 10.0.0.0/8
inline constexpr uint16_t kClientPortBase = 49152;

inline uint32_t ClientIpv4(uint32_t connection) {
  return kClientNetwork | (connection & 0xFFFFFF);
}
inline uint16_t ClientPort(uint32_t connection) {
  return static_cast<uint16_t>(kClientPortBase + (connection >> 24));
}
// The connection id of a synthetic client address.
inline uint32_t ConnectionOf(uint32_t client_ipv4, uint16_t client_port) {
  return (client_ipv4 & 0xFFFFFF) |
         (static_cast<uint32_t>(client_port - kClientPortBase) << 24);
}

// Data is cut into packets of at most this many bytes (what fit an IPv4
// packet of the older Ethernet format; well within Wireshark's 256 KiB).
inline constexpr size_t kMaxSegmentPayload = 65535 - 20 - 20;

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_CAPTURE_FORMAT_H_
