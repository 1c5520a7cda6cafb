// Socket addresses in gRPC's target syntax, parsed into a value type.
//
// Accepted forms:
//   unix:path              filesystem socket, path relative or absolute
//   unix:///abs/path       filesystem socket, absolute path
//   unix-abstract:name     Linux abstract namespace (no file)
//   ipv4:127.0.0.1:50051   IPv4 literal and port
//   ipv6:[::1]:50051       IPv6 literal (in brackets) and port
//   host:port              a name or literal ("localhost:0", "[::1]:80")
//   dns:host:port          the same (also dns:///host:port, gRPC's form)
// Port 0 asks a listener for an ephemeral port. A client's target may also
// list several literals (ParseTarget()): ipv4:H:P,H:P,... or
// ipv6:[H]:P,[H]:P,...
//
// Parsing is pure (no DNS); Resolve() turns an Address into sockaddrs.
// Thread-safe: free functions and const methods only.
#ifndef SOCKRPC_TRANSPORT_ADDRESS_H_
#define SOCKRPC_TRANSPORT_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sockrpc {

// Address is a parsed, not yet resolved, socket address.
struct Address {
  enum class Kind {
    kUnixPath,      // `path` names a socket file
    kUnixAbstract,  // `path` is the abstract name (without the leading NUL)
    kIpv4,          // `host` is an IPv4 literal
    kIpv6,          // `host` is an IPv6 literal, without brackets
    kHostName,      // `host` is a name (or literal) to resolve
  };

  Kind kind = Kind::kUnixPath;
  std::string path;   // kUnixPath, kUnixAbstract
  std::string host;   // kIpv4, kIpv6, kHostName
  uint16_t port = 0;  // kIpv4, kIpv6, kHostName

  bool is_unix() const {
    return kind == Kind::kUnixPath || kind == Kind::kUnixAbstract;
  }

  // The canonical text form, which ParseAddress() accepts back:
  // "unix:PATH", "unix-abstract:NAME", "ipv4:H:P", "ipv6:[H]:P", "H:P"
  // ("[H]:P" for a kHostName holding an IPv6 literal).
  std::string ToString() const;
};

// ParseAddress parses `text` in one of the forms above. On failure returns
// INVALID_ARGUMENT with a message that quotes `text` and lists the accepted
// forms. A unix path must fit in sockaddr_un (at most 107 bytes).
absl::StatusOr<Address> ParseAddress(absl::string_view text);

// ParseTarget parses a client's target: one address, or a list of IPv4 or
// IPv6 literals after one scheme ("ipv4:10.0.0.1:50051,10.0.0.2:50051"),
// in order.
absl::StatusOr<std::vector<Address>> ParseTarget(absl::string_view text);

// SocketAddress is one resolved sockaddr, ready for bind() or connect().
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  int family() const { return storage.ss_family; }
};

// Resolve returns the sockaddrs for `address`, in the order to try them (one
// for unix and literal forms; getaddrinfo's order for names). Failure to
// resolve a name is UNAVAILABLE naming the address.
absl::StatusOr<std::vector<SocketAddress>> Resolve(const Address& address);

// FromSocketAddress describes a bound or peer sockaddr as an Address
// (unix path, abstract name, or an ipv4/ipv6 literal with its port). An
// unnamed unix socket (a client's end) or an unknown family gives a
// kUnixPath Address with an empty path.
Address FromSocketAddress(const SocketAddress& socket_address);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_ADDRESS_H_
