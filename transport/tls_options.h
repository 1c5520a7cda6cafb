// TLS over TCP: what a server and a channel are configured with, and what a
// TLS peer proved about itself. The settings are files (PEM), as operators
// keep them; the server re-reads its files when they change, so certificates
// are renewed without a restart. Unix sockets never use TLS: the kernel
// names their peer (PeerCredentials). See docs/SECURITY.md.
#ifndef SOCKRPC_TRANSPORT_TLS_OPTIONS_H_
#define SOCKRPC_TRANSPORT_TLS_OPTIONS_H_

#include <string>
#include <vector>

namespace sockrpc {

// The oldest protocol version a side accepts. TLS 1.3 unless a peer that
// cannot speak it must be served.
enum class TlsVersion { kTls12, kTls13 };

// A server's TLS: every TCP listener speaks it (unix listeners stay plain).
struct TlsServerOptions {
  // The server's certificate chain (leaf first) and its private key, PEM.
  std::string certificate_file;
  std::string private_key_file;
  // Trust roots for client certificates, PEM. Empty: clients are not asked
  // for a certificate.
  std::string client_ca_file;
  // With client_ca_file: refuse a client that sends no certificate (mutual
  // TLS). Otherwise one is asked for, checked if sent, and optional.
  bool require_client_certificate = false;
  // With client certificates: who may connect. A client is admitted if one
  // of its identities (a DNS or URI subject alternative name, such as a
  // SPIFFE ID "spiffe://example.org/ns/x/sa/y", or else the subject's
  // common name) equals an entry. Empty: any client whose certificate the
  // roots vouch for (or none, unless required). A list requires a
  // certificate. Others fail the handshake (an alert), and are logged.
  std::vector<std::string> allowed_peers;
  TlsVersion min_version = TlsVersion::kTls13;
};

// A channel's TLS (ChannelOptions::tls).
struct TlsChannelOptions {
  // Trust roots for the server's certificate, PEM. Empty: the system's
  // (/etc/ssl/certs).
  std::string ca_file;
  // A client certificate and key, PEM, for servers that ask for one.
  std::string certificate_file;
  std::string private_key_file;
  // The name the server's certificate must carry (and the SNI sent). Empty:
  // the host of the target as written ("dns:api.example.org:443" checks
  // api.example.org); for IP addresses (a list too), the address each
  // connection reached ("ipv4:10.0.0.1:443" checks 10.0.0.1).
  std::string server_name;
  // Encrypt, but believe any certificate: for tests and for looking at a
  // server by hand (sockrpc --insecure), never for production.
  bool insecure_skip_verify = false;
  TlsVersion min_version = TlsVersion::kTls13;
};

// What the peer's certificate says, after the handshake verified it
// (ServerContext::tls_peer()).
struct TlsPeer {
  std::string subject;                 // "CN=client,O=Example"
  std::string common_name;             // "client"
  std::vector<std::string> dns_names;  // DNS subject alternative names
  std::vector<std::string> uris;       // URI subject alternative names
  std::string spiffe_id;               // the first spiffe:// URI, if any
  std::string version;                 // "TLSv1.3"
  std::string cipher;                  // "TLS_AES_256_GCM_SHA384"
  bool has_certificate = false;        // false: the client sent none
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_TLS_OPTIONS_H_
