// `sockrpc tap`: a transparent proxy that prints (and optionally saves)
// every frame passing between clients and an upstream server.
//
// Threads: the main thread accepts; each connection has one thread per
// direction, which reads a chunk, hands it to the Inspector (decode, print,
// record) and then forwards it unchanged. Bytes are forwarded whatever the
// decoder thinks of them, and file descriptors passed with them (SCM_RIGHTS,
// unix sockets on both sides) with the same bytes. SIGINT/SIGTERM stop the tap:
// it stops accepting, closes every connection and exits 0 with the capture
// complete.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/stubs/logging.h"
#include "tools/cli/commands.h"
#include "tools/cli/fd_description.h"
#include "tools/cli/inspect_flags.h"
#include "tools/cli/inspector.h"
#include "tools/cli/schema.h"
#include "tools/cli/stop_signals.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/fd_passing.h"
#include "transport/socket.h"
#include "transport/status_macros.h"
#include "transport/sync.h"
#include "transport/tls_context.h"
#include "transport/tls_session.h"

namespace sockrpc {
namespace cli {
namespace {

constexpr char kTapUsage[] =
    "Usage: sockrpc tap --listen ADDR --upstream ADDR [--save FILE.pcapng]\n"
    "                   [--proto FILE -I DIR | --protoset FILE] [--json]\n"
    "                   [--color auto|always|never] [--max-bytes N]\n"
    "\n"
    "A transparent proxy: clients connect to --listen, every byte goes to\n"
    "--upstream unchanged and back, and every frame is printed as it passes:\n"
    "time, connection, direction, type, stream, flags, method and the\n"
    "message as JSON. The schema comes from --proto/--protoset, or else from\n"
    "the upstream's reflection service; without one, messages are shown as\n"
    "raw protobuf fields. --save writes a pcapng capture (docs/CAPTURE.md)\n"
    "that `sockrpc decode` reads, and Wireshark with the sockrpc dissector\n"
    "(share/sockrpc/wireshark/sockrpc.lua). File descriptors passed in\n"
    "messages (unix sockets) are passed on and shown, not saved. With TLS\n"
    "(--tls-cert/--tls-key towards clients, --cacert and the rest towards\n"
    "the upstream) the tap ends TLS on each side and shows what is inside.\n"
    "Addresses: unix:PATH,\n"
    "unix-abstract:NAME, HOST:PORT. Stop with Ctrl-C.\n";

// How long the tap waits to reach the upstream for a new client, and for
// each TLS handshake.
constexpr absl::Duration kUpstreamConnectTimeout = absl::Seconds(10);
constexpr absl::Duration kHandshakeTimeout = absl::Seconds(10);

// TLS on either side (null contexts: plain). The tap ends TLS on both:
// what it shows is the frames inside.
struct TapTls {
  std::shared_ptr<const TlsContext> clients;   // the tap's certificate
  std::shared_ptr<const TlsContext> upstream;  // trust in the upstream's
  std::string upstream_name;  // what the upstream's certificate must carry
};

// Timestamps are kept to the microsecond, as the capture stores them, so
// the live output and a decode of the capture print the same times.
absl::Time NowMicros() { return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now())); }

// Describes the client at the other end of `fd`.
std::string DescribePeer(int fd) {
  const std::optional<Address> peer = PeerAddressOf(fd);
  if (!peer.has_value()) return "client (unknown address)";
  if (peer->is_unix()) {
    ucred cred{};
    socklen_t size = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0) {
      return absl::StrCat("client pid ", cred.pid, " uid ", cred.uid);
    }
    return "client (unix socket)";
  }
  return absl::StrCat("client ", peer->ToString());
}

// One client connection and its upstream connection.
class TapConnection {
 public:
  TapConnection(uint32_t id, Fd client, const Address& upstream,
                const TapTls& tls, Inspector* inspector)
      : id_(id),
        upstream_address_(upstream),
        tls_(tls),
        inspector_(inspector),
        client_(std::move(client)) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  bool done() const { return done_.load(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // Wakes both directions' threads; they end and close the sockets.
  void Abort() {
    sockrpc::MutexLock lock(&mu_);
    if (client_.valid()) shutdown(client_.get(), SHUT_RDWR);
    if (upstream_.valid()) shutdown(upstream_.get(), SHUT_RDWR);
  }

 private:
  void Run() {
    const std::string description =
        absl::StrCat(DescribePeer(client_.get()), " -> upstream ",
                     upstream_address_.ToString());
    absl::StatusOr<Fd> upstream =
        Connect(upstream_address_, absl::Now() + kUpstreamConnectTimeout);
    inspector_->Open(id_, NowMicros(), description);
    if (!upstream.ok()) {
      inspector_->End(id_, Direction::kClientToServer, NowMicros(),
                      absl::StrCat("cannot reach the upstream: ",
                                   upstream.status().message()));
      Close();
      return;
    }
    {
      sockrpc::MutexLock lock(&mu_);
      upstream_ = *std::move(upstream);
    }
    if (absl::Status secured = Handshakes(); !secured.ok()) {
      inspector_->End(id_, Direction::kClientToServer, NowMicros(),
                      secured.message());
      Close();
      return;
    }
    std::thread replies([this] {
      Forward(upstream_.get(), client_.get(), Direction::kServerToClient);
    });
    Forward(client_.get(), upstream_.get(), Direction::kClientToServer);
    replies.join();
    Close();
  }

  void Close() {
    sockrpc::MutexLock lock(&mu_);
    client_session_.reset();
    upstream_session_.reset();
    client_.reset();
    upstream_.reset();
    done_.store(true);
  }

  // With TLS: the client's handshake (the tap as its server), then the
  // upstream's (the tap as its client); unix sockets stay plain.
  absl::Status Handshakes() {
    const absl::Time deadline = absl::Now() + kHandshakeTimeout;
    if (tls_.clients != nullptr && !IsUnixSocket(client_.get())) {
      absl::StatusOr<std::unique_ptr<TlsSession>> session =
          TlsSession::Create(tls_.clients, client_.get());
      absl::Status done = session.ok() ? (*session)->HandshakeUntil(deadline)
                                       : session.status();
      if (!done.ok()) {
        return absl::Status(
            done.code(), absl::StrCat("TLS with the client: ", done.message()));
      }
      client_session_ = *std::move(session);
    }
    if (tls_.upstream != nullptr && !IsUnixSocket(upstream_.get())) {
      absl::StatusOr<std::unique_ptr<TlsSession>> session = TlsSession::Create(
          tls_.upstream, upstream_.get(), tls_.upstream_name);
      absl::Status done = session.ok() ? (*session)->HandshakeUntil(deadline)
                                       : session.status();
      if (!done.ok()) {
        return absl::Status(done.code(), absl::StrCat("TLS with the upstream: ",
                                                      done.message()));
      }
      upstream_session_ = *std::move(session);
    }
    return absl::OkStatus();
  }

  // Copies `from` to `to` until end of stream or an error, showing every
  // chunk first.
  void Forward(int from, int to, Direction direction) {
    std::string buffer(64 * 1024, '\0');
    const bool to_server = direction == Direction::kClientToServer;
    const char* peer = to_server ? "server" : "client";
    // Each session is read by one direction and written by the other.
    TlsSession* in =
        to_server ? client_session_.get() : upstream_session_.get();
    TlsSession* out =
        to_server ? upstream_session_.get() : client_session_.get();
    while (true) {
      absl::Status waited = in != nullptr && in->HasBufferedInput()
                                ? absl::OkStatus()
                                : WaitFor(from, POLLIN, absl::InfiniteFuture());
      // recvmsg(): descriptors that come with the bytes (over unix
      // sockets) begin a read, at their FDS frame, and go on with it.
      std::vector<Fd> fds;
      absl::StatusOr<ssize_t> n =
          in != nullptr
              ? in->Read(buffer.data(), buffer.size())
              : ReadSomeWithFds(from, buffer.data(), buffer.size(), &fds);
      if (!waited.ok() || !n.ok()) {
        absl::Status error = !waited.ok() ? waited : n.status();
        inspector_->End(id_, direction, NowMicros(),
                        absl::StrCat("read failed: ", error.message()));
        shutdown(to, SHUT_RDWR);
        shutdown(from, SHUT_RDWR);
        return;
      }
      if (*n < 0) continue;  // nothing yet
      if (*n == 0) {
        inspector_->End(id_, direction, NowMicros(), "");
        shutdown(to, SHUT_WR);
        return;
      }
      absl::string_view chunk(buffer.data(), static_cast<size_t>(*n));
      if (ABSL_PREDICT_FALSE(!fds.empty())) {
        std::vector<std::string> described;
        for (const Fd& fd : fds) described.push_back(DescribeFd(fd.get()));
        if (!IsUnixSocket(to)) {
          fds.clear();  // closed: they cannot go on
          inspector_->Fds(id_, direction, NowMicros(), std::move(described),
                          absl::StrCat("dropped: the ", peer,
                                       " side is not a unix socket"));
        } else {
          inspector_->Fds(id_, direction, NowMicros(), std::move(described),
                          absl::StrCat("passed on to the ", peer));
        }
      }
      inspector_->Data(id_, direction, NowMicros(), chunk);
      absl::Status sent = SendAll(to, out, chunk, fds);
      if (!sent.ok()) {
        inspector_->End(id_, direction, NowMicros(),
                        absl::StrCat("cannot forward to the ", peer, ": ",
                                     sent.message()));
        shutdown(to, SHUT_RDWR);
        shutdown(from, SHUT_RDWR);
        return;
      }
    }
  }

  // Writes all of `bytes` (through `tls` if not null), the first write (a
  // sendmsg()) carrying `fds` if any, so that they begin at the same byte
  // as they came; our copies close when this returns.
  static absl::Status SendAll(int fd, TlsSession* tls, absl::string_view bytes,
                              const std::vector<Fd>& fds) {
    std::vector<int> raw;
    for (const Fd& each : fds) raw.push_back(each.get());
    while (!bytes.empty()) {
      iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
      absl::StatusOr<size_t> n = tls != nullptr ? tls->Write(&iov, 1)
                                 : raw.empty()
                                     ? WriteSome(fd, &iov, 1)
                                     : WriteSomeWithFds(fd, &iov, 1, raw);
      if (n.ok() && *n > 0) raw.clear();  // passed with the first bytes
      if (!n.ok()) return n.status();
      if (*n == 0) {
        absl::Status waited = WaitFor(fd, POLLOUT, absl::InfiniteFuture());
        if (!waited.ok()) return waited;
        continue;
      }
      bytes.remove_prefix(*n);
    }
    return absl::OkStatus();
  }

  const uint32_t id_;
  const Address upstream_address_;
  const TapTls tls_;
  Inspector* const inspector_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  // The sockets stay open until both directions have ended; Abort() may
  // shut them down from another thread meanwhile.
  sockrpc::Mutex mu_;
  Fd client_;
  Fd upstream_;
  // Made by Run() before the directions' threads start; each read by one
  // and written by the other (TlsSession allows that).
  std::unique_ptr<TlsSession> client_session_;
  std::unique_ptr<TlsSession> upstream_session_;
};

// Loads the schema the flags ask for; with neither --proto nor --protoset,
// from the upstream's reflection service (a failure there is only a
// warning: the tap still forwards and shows raw fields).
std::unique_ptr<Schema> LoadTapSchema(
    const InspectFlags& flags, const std::optional<TlsChannelOptions>& tls,
    bool* fatal) {
  SchemaOptions options;
  options.tls = tls;
  options.proto_files = flags.proto_files;
  options.import_dirs = flags.import_dirs;
  options.protoset = flags.protoset;
  const bool explicit_schema =
      !flags.proto_files.empty() || !flags.protoset.empty();
  if (!explicit_schema) options.address = flags.upstream;
  absl::StatusOr<std::unique_ptr<Schema>> schema = LoadSchema(options);
  if (schema.ok()) return *std::move(schema);
  if (explicit_schema) {
    std::fprintf(stderr, "sockrpc tap: %s\n",
                 schema.status().ToString().c_str());
    *fatal = true;
    return nullptr;
  }
  std::fprintf(stderr,
               "sockrpc tap: no schema from the upstream's reflection (%s); "
               "messages are shown as raw fields\n",
               std::string(schema.status().message()).c_str());
  return nullptr;
}

// The TLS contexts the flags ask for; INVALID_ARGUMENT for bad flags or
// files.
absl::StatusOr<TapTls> TapTlsOf(const InspectFlags& flags,
                                const Address& upstream) {
  TapTls tls;
  if (!flags.tls_cert.empty() || !flags.tls_key.empty()) {
    TlsServerOptions options;
    options.certificate_file = flags.tls_cert;
    options.private_key_file = flags.tls_key;
    SOCKRPC_ASSIGN_OR_RETURN(tls.clients, TlsContext::ForServer(options));
  }
  SOCKRPC_ASSIGN_OR_RETURN(std::optional<TlsChannelOptions> upstream_tls,
                           TlsOptionsOf(flags.upstream_tls));
  if (upstream_tls.has_value()) {
    SOCKRPC_ASSIGN_OR_RETURN(tls.upstream,
                             TlsContext::ForClient(*upstream_tls));
    tls.upstream_name = !upstream_tls->server_name.empty()
                            ? upstream_tls->server_name
                            : upstream.host;
  }
  return tls;
}

}  // namespace

int RunTap(int argc, char** argv) {
  absl::StatusOr<InspectFlags> flags = ParseInspectFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "sockrpc tap: %s\n\n%s",
                 std::string(flags.status().message()).c_str(), kTapUsage);
    return 2;
  }
  if (flags->help) {
    std::fputs(kTapUsage, stdout);
    std::fputs(InspectOptionsHelp(/*for_tap=*/true).c_str(), stdout);
    return 0;
  }
  if (flags->listen.empty() || flags->upstream.empty() ||
      !flags->files.empty()) {
    std::fprintf(stderr, "sockrpc tap: %s\n\n%s",
                 flags->files.empty() ? "--listen and --upstream are required"
                                      : "unexpected argument",
                 kTapUsage);
    return 2;
  }
  absl::StatusOr<Address> upstream = ParseAddress(flags->upstream);
  if (!upstream.ok()) {
    std::fprintf(stderr, "sockrpc tap: --upstream: %s\n",
                 std::string(upstream.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<Address> listen = ParseAddress(flags->listen);
  if (!listen.ok()) {
    std::fprintf(stderr, "sockrpc tap: --listen: %s\n",
                 std::string(listen.status().message()).c_str());
    return 2;
  }

  // Block the stop signals in every thread; the accept loop reads them
  // from a signalfd.
  absl::StatusOr<StopSignals> stop_signals = StopSignals::Block();
  if (!stop_signals.ok()) {
    std::fprintf(stderr, "sockrpc tap: %s\n",
                 stop_signals.status().ToString().c_str());
    return 1;
  }

  // What the tap sees must never be fatal: no protobuf parse warnings.
  google::protobuf::SetLogHandler(nullptr);

  absl::StatusOr<TapTls> tls = TapTlsOf(*flags, *upstream);
  if (!tls.ok()) {
    std::fprintf(stderr, "sockrpc tap: %s\n",
                 std::string(tls.status().message()).c_str());
    return 2;
  }
  bool fatal = false;
  std::unique_ptr<Schema> schema =
      LoadTapSchema(*flags, *TlsOptionsOf(flags->upstream_tls), &fatal);
  if (fatal) return 1;

  absl::StatusOr<Listener> listener = Listener::Bind(*listen);
  if (!listener.ok()) {
    std::fprintf(stderr, "sockrpc tap: %s\n",
                 listener.status().ToString().c_str());
    return 1;
  }

  std::unique_ptr<PcapngWriter> capture;
  if (!flags->save.empty()) {
    absl::StatusOr<std::unique_ptr<PcapngWriter>> writer = PcapngWriter::Create(
        flags->save,
        absl::StrCat("sockrpc tap: ", listener->address().ToString(), " -> ",
                     upstream->ToString()));
    if (!writer.ok()) {
      std::fprintf(stderr, "sockrpc tap: --save: %s\n",
                   std::string(writer.status().message()).c_str());
      return 1;
    }
    capture = *std::move(writer);
  }

  DecodeOptions decode;
  decode.pool = schema != nullptr ? schema->pool() : nullptr;
  PrintOptions print;
  print.json = flags->json;
  print.color = WantColor(*flags);
  decode.max_shown_bytes = flags->max_bytes;
  Inspector inspector(decode, print, stdout, std::move(capture));

  std::fprintf(stderr, "sockrpc tap: listening on %s, upstream %s\n",
               listener->address().ToString().c_str(),
               upstream->ToString().c_str());
  std::fflush(stderr);

  std::list<std::unique_ptr<TapConnection>> connections;
  uint32_t next_id = 1;
  bool stop = false;
  while (!stop) {
    pollfd fds[2] = {{listener->fd(), POLLIN, 0},
                     {stop_signals->fd(), POLLIN, 0}};
    int ready = poll(fds, 2, 1000);
    if (ready > 0 && (fds[1].revents & POLLIN)) stop = true;
    if (!stop && ready > 0 && (fds[0].revents & POLLIN)) {
      absl::StatusOr<Fd> client = listener->Accept();
      if (!client.ok()) {
        std::fprintf(stderr, "sockrpc tap: accept: %s\n",
                     client.status().ToString().c_str());
      } else if (client->valid()) {
        auto connection = std::make_unique<TapConnection>(
            next_id++, *std::move(client), *upstream, *tls, &inspector);
        connection->Start();
        connections.push_back(std::move(connection));
      }
    }
    // Reap connections whose threads have finished.
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->done()) {
        (*it)->Join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
  listener->Close();
  for (auto& connection : connections) connection->Abort();
  for (auto& connection : connections) connection->Join();
  absl::Status saved = inspector.capture_status();
  if (!saved.ok()) {
    std::fprintf(stderr, "sockrpc tap: the capture is incomplete: %s\n",
                 std::string(saved.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace cli
}  // namespace sockrpc
