#include "transport/address.h"

#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

Address MustParse(absl::string_view text) {
  absl::StatusOr<Address> address = ParseAddress(text);
  EXPECT_TRUE(address.ok()) << text << ": " << address.status();
  return address.ok() ? *address : Address();
}

TEST(ParseAddressTest, UnixAbsolutePath) {
  Address a = MustParse("unix:/tmp/server.sock");
  EXPECT_EQ(a.kind, Address::Kind::kUnixPath);
  EXPECT_EQ(a.path, "/tmp/server.sock");
  EXPECT_TRUE(a.is_unix());
}

TEST(ParseAddressTest, UnixRelativePath) {
  Address a = MustParse("unix:run/server.sock");
  EXPECT_EQ(a.kind, Address::Kind::kUnixPath);
  EXPECT_EQ(a.path, "run/server.sock");
}

TEST(ParseAddressTest, UnixUriWithAbsolutePath) {
  Address a = MustParse("unix:///var/run/x.sock");
  EXPECT_EQ(a.kind, Address::Kind::kUnixPath);
  EXPECT_EQ(a.path, "/var/run/x.sock");
}

TEST(ParseAddressTest, UnixAbstractName) {
  Address a = MustParse("unix-abstract:my-service");
  EXPECT_EQ(a.kind, Address::Kind::kUnixAbstract);
  EXPECT_EQ(a.path, "my-service");
  EXPECT_TRUE(a.is_unix());
}

TEST(ParseAddressTest, Ipv4LiteralAndPort) {
  Address a = MustParse("ipv4:127.0.0.1:50051");
  EXPECT_EQ(a.kind, Address::Kind::kIpv4);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 50051);
  EXPECT_FALSE(a.is_unix());
}

TEST(ParseAddressTest, Ipv6LiteralInBracketsAndPort) {
  Address a = MustParse("ipv6:[::1]:50051");
  EXPECT_EQ(a.kind, Address::Kind::kIpv6);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 50051);
}

TEST(ParseAddressTest, BareHostNameAndPortZero) {
  Address a = MustParse("localhost:0");
  EXPECT_EQ(a.kind, Address::Kind::kHostName);
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 0);
}

TEST(ParseAddressTest, BareBracketedIpv6Literal) {
  Address a = MustParse("[::1]:80");
  EXPECT_EQ(a.kind, Address::Kind::kHostName);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 80);
}

TEST(ParseAddressTest, BareIpv4LiteralAndHighestPort) {
  Address a = MustParse("10.0.0.1:65535");
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, 65535);
}

TEST(ParseAddressTest, DnsFormsAreHostNames) {
  for (const char* text :
       {"dns:example.com:50051", "dns:///example.com:50051"}) {
    Address a = MustParse(text);
    EXPECT_EQ(a.kind, Address::Kind::kHostName) << text;
    EXPECT_EQ(a.host, "example.com") << text;
    EXPECT_EQ(a.port, 50051) << text;
  }
}

TEST(ParseTargetTest, ListOfIpv4LiteralsInOrder) {
  absl::StatusOr<std::vector<Address>> target =
      ParseTarget("ipv4:127.0.0.1:5001,10.0.0.2:5002");
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_EQ(target->size(), 2u);
  EXPECT_EQ((*target)[0].ToString(), "ipv4:127.0.0.1:5001");
  EXPECT_EQ((*target)[1].ToString(), "ipv4:10.0.0.2:5002");
}

TEST(ParseTargetTest, ListOfIpv6Literals) {
  absl::StatusOr<std::vector<Address>> target =
      ParseTarget("ipv6:[::1]:5001,[::1]:5002");
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_EQ(target->size(), 2u);
  EXPECT_EQ((*target)[1].port, 5002);
}

TEST(ParseTargetTest, OneAddressOfAnyForm) {
  absl::StatusOr<std::vector<Address>> target = ParseTarget("unix:/tmp/s");
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_EQ(target->size(), 1u);
  EXPECT_EQ((*target)[0].path, "/tmp/s");
}

TEST(ParseTargetTest, ABadEntryRejectsTheList) {
  absl::StatusOr<std::vector<Address>> target =
      ParseTarget("ipv4:127.0.0.1:5001,127.0.0.1");
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseAddressTest, LongestUnixPathFits) {
  const std::string path = "/" + std::string(106, 'p');  // 107 bytes
  EXPECT_EQ(MustParse("unix:" + path).path, path);
}

TEST(ParseAddressTest, LongestAbstractNameFits) {
  const std::string name(106, 'n');
  EXPECT_EQ(MustParse("unix-abstract:" + name).path, name);
}

// Every rejected form is INVALID_ARGUMENT, quotes the text and lists the
// forms that are accepted.
void ExpectRejected(const std::string& text, absl::string_view reason) {
  absl::StatusOr<Address> address = ParseAddress(text);
  ASSERT_FALSE(address.ok()) << "accepted \"" << text << "\"";
  EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(address.status().message(), HasSubstr("\"" + text + "\""));
  EXPECT_THAT(address.status().message(), HasSubstr(reason)) << text;
  EXPECT_THAT(address.status().message(), HasSubstr("unix-abstract:NAME"));
  EXPECT_THAT(address.status().message(), HasSubstr("HOST:PORT"));
}

TEST(ParseAddressTest, DnsAuthorityIsRejected) {
  ExpectRejected("dns://8.8.8.8/example.com:50051", "DNS authority");
}

TEST(ParseAddressTest, EmptyTextIsRejected) { ExpectRejected("", "empty"); }

TEST(ParseAddressTest, MissingPortIsRejected) {
  ExpectRejected("localhost", "missing port");
  ExpectRejected("localhost:", "missing port");
  ExpectRejected("ipv4:127.0.0.1", "missing port");
  ExpectRejected("ipv6:[::1]", "missing port");
}

TEST(ParseAddressTest, PortOutOfRangeIsRejected) {
  ExpectRejected("localhost:65536", "out of range");
  ExpectRejected("ipv4:127.0.0.1:99999999999", "out of range");
}

TEST(ParseAddressTest, NonNumericPortIsRejected) {
  ExpectRejected("localhost:http", "not a decimal number");
  ExpectRejected("localhost:-1", "not a decimal number");
  ExpectRejected("localhost: 80", "not a decimal number");
}

TEST(ParseAddressTest, BadIpv4LiteralIsRejected) {
  ExpectRejected("ipv4:256.0.0.1:80", "not an IPv4 address");
  ExpectRejected("ipv4:1.2.3:80", "not an IPv4 address");
  ExpectRejected("ipv4:localhost:80", "not an IPv4 address");
  ExpectRejected("ipv4:[::1]:80", "not an IPv4 address");
}

TEST(ParseAddressTest, UnbracketedIpv6IsRejected) {
  ExpectRejected("ipv6:::1:80", "brackets");
  ExpectRejected("::1:80", "brackets");
}

TEST(ParseAddressTest, BadIpv6LiteralIsRejected) {
  ExpectRejected("ipv6:[::g]:80", "not an IPv6 address");
  ExpectRejected("[1.2.3.4]:80", "not an IPv6 address");
  ExpectRejected("ipv6:[::1:80", "missing ']'");
}

TEST(ParseAddressTest, EmptyUnixPathOrNameIsRejected) {
  ExpectRejected("unix:", "empty socket path");
  ExpectRejected("unix-abstract:", "empty abstract socket name");
}

TEST(ParseAddressTest, TooLongUnixPathIsRejected) {
  ExpectRejected("unix:/" + std::string(107, 'p'), "at most 107");
}

TEST(ParseAddressTest, TooLongAbstractNameIsRejected) {
  ExpectRejected("unix-abstract:" + std::string(107, 'n'), "at most 106");
}

TEST(ParseAddressTest, UnixUriWithRelativePathIsRejected) {
  ExpectRejected("unix://relative/x.sock", "absolute path");
}

TEST(ParseAddressTest, UnknownSchemeIsRejected) {
  ExpectRejected("http://localhost:80", "unknown scheme \"http\"");
  ExpectRejected("tcp:localhost:80", "unknown scheme \"tcp\"");
}

TEST(ParseAddressTest, BadHostNameIsRejected) {
  ExpectRejected("bad host:80", "not a host name");
  ExpectRejected(":80", "missing host");
}

TEST(ParseAddressTest, ControlCharactersAreEscapedInTheMessage) {
  absl::StatusOr<Address> address = ParseAddress("bad\nhost:80");
  ASSERT_FALSE(address.ok());
  EXPECT_THAT(address.status().message(), HasSubstr("\"bad\\nhost:80\""));
}

TEST(AddressToStringTest, CanonicalForms) {
  EXPECT_EQ(MustParse("unix:/tmp/s").ToString(), "unix:/tmp/s");
  EXPECT_EQ(MustParse("unix:///tmp/s").ToString(), "unix:/tmp/s");
  EXPECT_EQ(MustParse("unix:rel/s").ToString(), "unix:rel/s");
  EXPECT_EQ(MustParse("unix-abstract:svc").ToString(), "unix-abstract:svc");
  EXPECT_EQ(MustParse("ipv4:127.0.0.1:80").ToString(), "ipv4:127.0.0.1:80");
  EXPECT_EQ(MustParse("ipv6:[::1]:80").ToString(), "ipv6:[::1]:80");
  EXPECT_EQ(MustParse("localhost:0").ToString(), "localhost:0");
  EXPECT_EQ(MustParse("[::1]:80").ToString(), "[::1]:80");
}

TEST(AddressToStringTest, EveryAcceptedFormRoundTrips) {
  for (const char* text :
       {"unix:/tmp/s", "unix:///tmp/s", "unix:rel/s", "unix:////tmp/s",
        "unix-abstract:svc", "ipv4:127.0.0.1:80", "ipv6:[::1]:80",
        "ipv6:[fe80::1:2]:65535", "localhost:0", "[::1]:80",
        "example.com:443"}) {
    Address first = MustParse(text);
    Address second = MustParse(first.ToString());
    EXPECT_EQ(second.kind, first.kind) << text;
    EXPECT_EQ(second.path, first.path) << text;
    EXPECT_EQ(second.host, first.host) << text;
    EXPECT_EQ(second.port, first.port) << text;
    EXPECT_EQ(second.ToString(), first.ToString()) << text;
  }
}

TEST(ResolveTest, UnixPathIsNulTerminated) {
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("unix:/tmp/abc"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_EQ(resolved->size(), 1u);
  const SocketAddress& sa = (*resolved)[0];
  EXPECT_EQ(sa.family(), AF_UNIX);
  EXPECT_EQ(sa.length, offsetof(sockaddr_un, sun_path) + 9);
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&sa.storage);
  EXPECT_STREQ(sun->sun_path, "/tmp/abc");
}

TEST(ResolveTest, AbstractNameHasLeadingNulAndNoTrailingNul) {
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("unix-abstract:svc"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  const SocketAddress& sa = (*resolved)[0];
  EXPECT_EQ(sa.length, offsetof(sockaddr_un, sun_path) + 1 + 3);
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&sa.storage);
  EXPECT_EQ(sun->sun_path[0], '\0');
  EXPECT_EQ(std::string(sun->sun_path + 1, 3), "svc");
}

TEST(ResolveTest, Ipv4LiteralIsNetworkOrder) {
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("ipv4:127.0.0.1:258"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  const SocketAddress& sa = (*resolved)[0];
  EXPECT_EQ(sa.family(), AF_INET);
  EXPECT_EQ(sa.length, sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&sa.storage);
  EXPECT_EQ(ntohs(sin->sin_port), 258);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0x7f000001u);
}

TEST(ResolveTest, Ipv6Literal) {
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("ipv6:[::1]:80"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  const SocketAddress& sa = (*resolved)[0];
  EXPECT_EQ(sa.family(), AF_INET6);
  EXPECT_EQ(sa.length, sizeof(sockaddr_in6));
}

TEST(ResolveTest, LocalhostResolvesToLoopback) {
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("localhost:7"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_FALSE(resolved->empty());
  for (const SocketAddress& sa : *resolved) {
    Address back = FromSocketAddress(sa);
    EXPECT_TRUE(back.host == "127.0.0.1" || back.host == "::1") << back.host;
    EXPECT_EQ(back.port, 7);
  }
}

TEST(ResolveTest, UnknownNameIsUnavailableNamingTheAddress) {
  // ".invalid" is reserved (RFC 2606) and never resolves.
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      Resolve(MustParse("no-such-host.invalid:80"));
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(resolved.status().message(),
              HasSubstr("no-such-host.invalid:80"));
}

TEST(ResolveTest, HandBuiltAddressWithOverlongPathIsRejected) {
  Address address;
  address.kind = Address::Kind::kUnixPath;
  address.path = std::string(200, 'x');
  EXPECT_EQ(Resolve(address).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FromSocketAddressTest, ResolvedFormsComeBack) {
  for (const char* text : {"unix:/tmp/abc", "unix-abstract:svc",
                           "ipv4:10.1.2.3:99", "ipv6:[2001:db8::5]:443"}) {
    Address address = MustParse(text);
    absl::StatusOr<std::vector<SocketAddress>> resolved = Resolve(address);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(FromSocketAddress((*resolved)[0]).ToString(), text);
  }
}

TEST(FromSocketAddressTest, UnnamedUnixSocketHasEmptyPath) {
  SocketAddress sa;
  sa.storage.ss_family = AF_UNIX;
  sa.length = offsetof(sockaddr_un, sun_path);
  Address address = FromSocketAddress(sa);
  EXPECT_EQ(address.kind, Address::Kind::kUnixPath);
  EXPECT_TRUE(address.path.empty());
}

}  // namespace
}  // namespace sockrpc
