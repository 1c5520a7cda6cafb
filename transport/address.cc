#include "transport/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "transport/posix_error.h"
#include "transport/status_macros.h"

namespace sockrpc {
namespace {

// sun_path holds a filesystem path plus its terminating NUL.
constexpr size_t kMaxUnixPathSize = sizeof(sockaddr_un::sun_path) - 1;  // 107
// An abstract name follows the leading NUL; one more byte is kept spare, as
// other gRPC implementations do, so a name is valid everywhere.
constexpr size_t kMaxAbstractNameSize = sizeof(sockaddr_un::sun_path) - 2;

constexpr absl::string_view kAcceptedForms =
    "accepted forms: unix:PATH, unix:///ABSOLUTE_PATH, unix-abstract:NAME, "
    "ipv4:A.B.C.D:PORT, ipv6:[ADDR]:PORT, HOST:PORT, [ADDR]:PORT, "
    "dns:HOST:PORT";

absl::Status BadAddress(absl::string_view text, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid address \"", absl::CHexEscape(text), "\": ", reason,
                   " (", kAcceptedForms, ")"));
}

bool IsIpv4Literal(const std::string& host) {
  in_addr unused;
  return inet_pton(AF_INET, host.c_str(), &unused) == 1;
}

bool IsIpv6Literal(const std::string& host) {
  in6_addr unused;
  return inet_pton(AF_INET6, host.c_str(), &unused) == 1;
}

// A host name: DNS labels (letters, digits, '-', '_') joined by dots.
bool IsHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// Parses a decimal port, 0-65535. Sets *reason on failure.
bool ParsePort(absl::string_view text, uint16_t* port, std::string* reason) {
  if (text.empty()) {
    *reason = "missing port";
    return false;
  }
  uint32_t value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) {
      *reason = absl::StrCat("port \"", absl::CHexEscape(text),
                             "\" is not a decimal number");
      return false;
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) {
      *reason = absl::StrCat("port ", text, " is out of range 0-65535");
      return false;
    }
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

// Splits "HOST:PORT" or "[HOST]:PORT" into its parts. `bracketed` reports
// which form it was; the brackets are not part of *host.
bool SplitHostPort(absl::string_view text, std::string* host,
                   absl::string_view* port, bool* bracketed,
                   std::string* reason) {
  *bracketed = absl::StartsWith(text, "[");
  absl::string_view rest;
  if (*bracketed) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      *reason = "missing ']' after the IPv6 address";
      return false;
    }
    *host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (rest.empty()) {
      *reason = "missing port";
      return false;
    }
    if (rest[0] != ':') {
      *reason = "expected ':' and a port after ']'";
      return false;
    }
    *port = rest.substr(1);
    return true;
  }
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    *reason = "missing port";
    return false;
  }
  *host = std::string(text.substr(0, colon));
  *port = text.substr(colon + 1);
  return true;
}

// Looks like "scheme:..." where the rest is not just a port, for example
// "dns:///host:80" or "http://host": name the scheme in the error.
bool LooksLikeScheme(absl::string_view text, absl::string_view* scheme) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  *scheme = text.substr(0, colon);
  if (!absl::ascii_isalpha((*scheme)[0])) return false;
  for (char c : *scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  const absl::string_view rest = text.substr(colon + 1);
  return absl::StartsWith(rest, "/") ||
         rest.find(':') != absl::string_view::npos;
}

absl::StatusOr<Address> ParseUnixPath(absl::string_view text,
                                      absl::string_view path) {
  if (path.empty()) return BadAddress(text, "empty socket path");
  if (path.find('\0') != absl::string_view::npos) {
    return BadAddress(text, "socket path contains a NUL byte");
  }
  if (path.size() > kMaxUnixPathSize) {
    return BadAddress(
        text, absl::StrCat("socket path is ", path.size(), " bytes; at most ",
                           kMaxUnixPathSize, " fit in sockaddr_un"));
  }
  Address address;
  address.kind = Address::Kind::kUnixPath;
  address.path = std::string(path);
  return address;
}

absl::StatusOr<Address> ParseInet(absl::string_view text,
                                  absl::string_view host_port,
                                  Address::Kind kind) {
  std::string host;
  absl::string_view port_text;
  bool bracketed = false;
  std::string reason;
  if (!SplitHostPort(host_port, &host, &port_text, &bracketed, &reason)) {
    return BadAddress(text, reason);
  }
  Address address;
  address.kind = kind;
  switch (kind) {
    case Address::Kind::kIpv4:
      if (bracketed || !IsIpv4Literal(host)) {
        return BadAddress(text, absl::StrCat("\"", absl::CHexEscape(host),
                                             "\" is not an IPv4 address"));
      }
      break;
    case Address::Kind::kIpv6:
      if (!bracketed) {
        return BadAddress(text, "an IPv6 address must be in brackets");
      }
      if (!IsIpv6Literal(host)) {
        return BadAddress(text, absl::StrCat("\"", absl::CHexEscape(host),
                                             "\" is not an IPv6 address"));
      }
      break;
    default:  // kHostName
      if (bracketed) {
        if (!IsIpv6Literal(host)) {
          return BadAddress(text, absl::StrCat("\"", absl::CHexEscape(host),
                                               "\" is not an IPv6 address"));
        }
      } else if (host.empty()) {
        return BadAddress(text, "missing host");
      } else if (host.find(':') != std::string::npos) {
        return BadAddress(text, "an IPv6 address must be in brackets");
      } else if (!IsHostName(host)) {
        return BadAddress(text, absl::StrCat("\"", absl::CHexEscape(host),
                                             "\" is not a host name"));
      }
      break;
  }
  if (!ParsePort(port_text, &address.port, &reason)) {
    return BadAddress(text, reason);
  }
  address.host = std::move(host);
  return address;
}

}  // namespace

std::string Address::ToString() const {
  switch (kind) {
    case Kind::kUnixPath:
      // "unix://x" is not a path form; a path starting with "//" is written
      // with the "unix://" prefix so it parses back.
      return absl::StrCat(absl::StartsWith(path, "//") ? "unix://" : "unix:",
                          path);
    case Kind::kUnixAbstract:
      return absl::StrCat("unix-abstract:", path);
    case Kind::kIpv4:
      return absl::StrCat("ipv4:", host, ":", port);
    case Kind::kIpv6:
      return absl::StrCat("ipv6:[", host, "]:", port);
    case Kind::kHostName:
      if (host.find(':') != std::string::npos) {
        return absl::StrCat("[", host, "]:", port);
      }
      return absl::StrCat(host, ":", port);
  }
  return "";
}

absl::StatusOr<Address> ParseAddress(absl::string_view text) {
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "unix-abstract:")) {
    if (rest.empty()) return BadAddress(text, "empty abstract socket name");
    if (rest.size() > kMaxAbstractNameSize) {
      return BadAddress(text,
                        absl::StrCat("abstract socket name is ", rest.size(),
                                     " bytes; at most ", kMaxAbstractNameSize,
                                     " are allowed"));
    }
    Address address;
    address.kind = Address::Kind::kUnixAbstract;
    address.path = std::string(rest);
    return address;
  }
  if (absl::ConsumePrefix(&rest, "unix://")) {
    // gRPC's URI form: no authority, so an absolute path follows.
    if (!absl::StartsWith(rest, "/")) {
      return BadAddress(text,
                        "\"unix://\" must be followed by an absolute "
                        "path (unix:///path); use unix:PATH for a "
                        "relative one");
    }
    return ParseUnixPath(text, rest);
  }
  if (absl::ConsumePrefix(&rest, "unix:")) return ParseUnixPath(text, rest);
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    return ParseInet(text, rest, Address::Kind::kIpv4);
  }
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    return ParseInet(text, rest, Address::Kind::kIpv6);
  }
  // gRPC's DNS forms: "dns:host:port" and "dns:///host:port" (no
  // authority: the system's resolver).
  if (absl::ConsumePrefix(&rest, "dns:")) {
    if (absl::ConsumePrefix(&rest, "//") && !absl::ConsumePrefix(&rest, "/")) {
      return BadAddress(text,
                        "a DNS authority (dns://SERVER/) is not supported: "
                        "use dns:///HOST:PORT or dns:HOST:PORT");
    }
    return ParseInet(text, rest, Address::Kind::kHostName);
  }
  if (text.empty()) return BadAddress(text, "empty address");
  absl::string_view scheme;
  if (LooksLikeScheme(text, &scheme)) {
    return BadAddress(text, absl::StrCat("unknown scheme \"",
                                         absl::CHexEscape(scheme), "\""));
  }
  return ParseInet(text, text, Address::Kind::kHostName);
}

absl::StatusOr<std::vector<Address>> ParseTarget(absl::string_view text) {
  absl::string_view rest = text;
  Address::Kind kind;
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    kind = Address::Kind::kIpv4;
  } else if (absl::ConsumePrefix(&rest, "ipv6:")) {
    kind = Address::Kind::kIpv6;
  } else {
    SOCKRPC_ASSIGN_OR_RETURN(Address address, ParseAddress(text));
    return std::vector<Address>{std::move(address)};
  }
  std::vector<Address> addresses;
  for (absl::string_view one : absl::StrSplit(rest, ',')) {
    SOCKRPC_ASSIGN_OR_RETURN(Address address, ParseInet(text, one, kind));
    addresses.push_back(std::move(address));
  }
  return addresses;
}

absl::StatusOr<std::vector<SocketAddress>> Resolve(const Address& address) {
  SocketAddress result;
  switch (address.kind) {
    case Address::Kind::kUnixPath:
    case Address::Kind::kUnixAbstract: {
      // Checked again here: an Address may be built without ParseAddress.
      const bool abstract = address.kind == Address::Kind::kUnixAbstract;
      const size_t limit = abstract ? kMaxAbstractNameSize : kMaxUnixPathSize;
      if (address.path.empty() || address.path.size() > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("socket path of ", address.ToString(),
                         " is empty or longer than ", limit, " bytes"));
      }
      auto* sun = reinterpret_cast<sockaddr_un*>(&result.storage);
      sun->sun_family = AF_UNIX;
      if (abstract) {
        // The name follows a leading NUL; its length is given by the
        // sockaddr length, with no terminating NUL.
        sun->sun_path[0] = '\0';
        std::memcpy(sun->sun_path + 1, address.path.data(),
                    address.path.size());
        result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                               1 + address.path.size());
      } else {
        std::memcpy(sun->sun_path, address.path.data(), address.path.size());
        sun->sun_path[address.path.size()] = '\0';
        result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                               address.path.size() + 1);
      }
      return std::vector<SocketAddress>{result};
    }
    case Address::Kind::kIpv4: {
      auto* sin = reinterpret_cast<sockaddr_in*>(&result.storage);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(address.port);
      if (inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", address.host, "\" is not an IPv4 address"));
      }
      result.length = sizeof(sockaddr_in);
      return std::vector<SocketAddress>{result};
    }
    case Address::Kind::kIpv6: {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(address.port);
      if (inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", address.host, "\" is not an IPv6 address"));
      }
      result.length = sizeof(sockaddr_in6);
      return std::vector<SocketAddress>{result};
    }
    case Address::Kind::kHostName:
      break;
  }

  // A name. The explicit hints leave AI_ADDRCONFIG off, so "localhost"
  // resolves on a machine whose only interface is loopback.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string port = absl::StrCat(address.port);
  const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    const std::string context =
        absl::StrCat("failed to resolve ", address.ToString());
    if (rc == EAI_SYSTEM) return PosixError(context, errno);
    return absl::UnavailableError(
        absl::StrCat(context, ": ", gai_strerror(rc)));
  }
  std::vector<SocketAddress> addresses;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(result.storage)) continue;
    SocketAddress one;
    std::memcpy(&one.storage, ai->ai_addr, ai->ai_addrlen);
    one.length = ai->ai_addrlen;
    addresses.push_back(one);
  }
  freeaddrinfo(list);
  if (addresses.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "failed to resolve ", address.ToString(), ": no stream addresses"));
  }
  return addresses;
}

Address FromSocketAddress(const SocketAddress& socket_address) {
  Address address;
  switch (socket_address.family()) {
    case AF_UNIX: {
      const auto* sun =
          reinterpret_cast<const sockaddr_un*>(&socket_address.storage);
      const size_t header = offsetof(sockaddr_un, sun_path);
      // An unnamed socket (a client's end) has no path at all.
      if (socket_address.length <= header) break;
      const size_t size = socket_address.length - header;
      if (sun->sun_path[0] == '\0') {
        address.kind = Address::Kind::kUnixAbstract;
        address.path.assign(sun->sun_path + 1, size - 1);
      } else {
        address.kind = Address::Kind::kUnixPath;
        address.path.assign(sun->sun_path, strnlen(sun->sun_path, size));
      }
      break;
    }
    case AF_INET: {
      const auto* sin =
          reinterpret_cast<const sockaddr_in*>(&socket_address.storage);
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
      address.kind = Address::Kind::kIpv4;
      address.host = text;
      address.port = ntohs(sin->sin_port);
      break;
    }
    case AF_INET6: {
      const auto* sin6 =
          reinterpret_cast<const sockaddr_in6*>(&socket_address.storage);
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
      address.kind = Address::Kind::kIpv6;
      address.host = text;
      address.port = ntohs(sin6->sin6_port);
      break;
    }
    default:
      break;
  }
  return address;
}

}  // namespace sockrpc
