// The raw baselines' wire format and socket helpers. Internal to bench/.
//
// The raw baselines are the floor our stack is measured against: blocking
// sockets, no framing beyond a 4-byte length, no parsing, no threads
// handing work to each other. A message is
//
//   u32 length (little-endian) | length bytes
//
// and the raw server echoes every message back as it is. A length with the
// top bit set (kStreamFlag) is a stream request instead: its 8-byte body is
// u32 count, u32 size, and the server answers with `count` messages of
// `size` bytes (the baseline of server streaming). A length with the next
// bit set (kCopyFlag) is a message to echo after the copies an RPC server
// makes of a payload: out of the read buffer (the parse), into a reply
// (the handler's), into the buffer written (the serialization); the
// client of such a message copies it into its write buffer and out of its
// read buffer (the baseline of the protobuf floor of large calls).
#ifndef SOCKRPC_BENCH_RAW_WIRE_H_
#define SOCKRPC_BENCH_RAW_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace sockrpc {
namespace bench {

inline constexpr size_t kRawHeaderSize = 4;
inline constexpr uint32_t kStreamFlag = 0x80000000u;
inline constexpr uint32_t kCopyFlag = 0x40000000u;

// Writes `length` little-endian into out[0..4).
void PutLength(uint32_t length, char* out);
// Reads a little-endian u32 from in[0..4).
uint32_t GetLength(const char* in);

// WriteAll writes all `size` bytes of `data` to the blocking socket `fd`,
// retrying on EINTR. False on error (errno set).
bool WriteAll(int fd, const char* data, size_t size);
// ReadAtLeast reads into buf[have..capacity) until at least `want` bytes
// are in buf[0..); returns the new fill, or -1 on error or end of stream.
// Reads as much as the socket has, so one call may take several messages.
long ReadAtLeast(int fd, char* buf, size_t have, size_t want, size_t capacity);

// ConnectRaw connects a blocking socket to "unix:PATH" or
// "ipv4:127.0.0.1:PORT" (TCP_NODELAY set, as our transport does). -1 on
// error, with a message on stderr.
int ConnectRaw(const std::string& address);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_RAW_WIRE_H_
