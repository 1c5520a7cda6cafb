#include "tools/conformance/strict_relay.h"

#include <poll.h>
#include <stdio.h>
#include <sys/uio.h>

#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/conformance/frames.h"
#include "transport/frame.h"

namespace sockrpc {
namespace conformance {
namespace {

// The most bytes queued toward one side before the other is no longer read.
constexpr size_t kMaxBuffered = 1u << 20;

// Writes what the socket takes now of `*bytes`; false on an error.
bool WritePending(int fd, std::string* bytes) {
  if (bytes->empty()) return true;
  struct iovec iov = {bytes->data(), bytes->size()};
  absl::StatusOr<size_t> written = WriteSome(fd, &iov, 1);
  if (!written.ok()) return false;
  bytes->erase(0, *written);
  return true;
}

// Writes all of `*bytes`, waiting until `deadline`; gives up quietly.
void WriteAll(int fd, std::string* bytes, absl::Time deadline) {
  while (!bytes->empty() && WritePending(fd, bytes)) {
    if (!bytes->empty() && !WaitFor(fd, POLLOUT, deadline).ok()) return;
  }
}

}  // namespace

struct StrictRelay::Connection {
  Connection(Fd client_fd, Fd server_fd, ClientReport* report,
             const Options& options)
      : client(std::move(client_fd)),
        server(std::move(server_fd)),
        judge(report, options.max_frame_size, options.max_metadata_size) {}

  Fd client;
  Fd server;
  std::string to_client;
  std::string to_server;
  ClientJudge judge;
  size_t server_preface_left = kPrefaceSize;
  std::string server_pending;         // server bytes short of a whole frame
  bool drained_client_bytes = false;  // the last ReadClient() read some
};

absl::StatusOr<std::unique_ptr<StrictRelay>> StrictRelay::Listen(
    const Options& options, ClientReport* report) {
  absl::StatusOr<Listener> listener = Listener::Bind(options.listen);
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<StrictRelay>(
      new StrictRelay(options, *std::move(listener), report));
}

StrictRelay::StrictRelay(Options options, Listener listener,
                         ClientReport* report)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      report_(report) {}

StrictRelay::~StrictRelay() = default;

absl::Status StrictRelay::Run(int stop_fd) {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({listener_.fd(), POLLIN, 0});
    for (const Connection& connection : connections_) {
      // A side is read only while what it sends the other way is not
      // piling up: a peer that stops reading holds up its sender.
      const auto events = [](const std::string& out, const std::string& in) {
        return static_cast<short>((in.size() < kMaxBuffered ? POLLIN : 0) |
                                  (out.empty() ? 0 : POLLOUT));
      };
      fds.push_back({connection.client.get(),
                     events(connection.to_client, connection.to_server), 0});
      fds.push_back({connection.server.get(),
                     events(connection.to_server, connection.to_client), 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    if (fds[0].revents != 0) break;
    size_t index = 2;
    for (auto it = connections_.begin(); it != connections_.end();) {
      const short client_events = fds[index++].revents;
      const short server_events = fds[index++].revents;
      bool open = true;
      if ((client_events & (POLLIN | POLLHUP | POLLERR)) != 0) {
        open = ReadClient(*it);
      }
      if (open && (server_events & (POLLIN | POLLHUP | POLLERR)) != 0) {
        open = ReadServer(*it);
      }
      if (open) open = Flush(*it);
      if (!open) {
        Close(*it);
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    if (fds[1].revents != 0) Accept();
  }
  // Whatever a client sent before the stop is judged, on connections not
  // yet accepted too.
  while (Accept()) {
  }
  for (Connection& connection : connections_) {
    while (ReadClient(connection) && connection.drained_client_bytes) {
    }
    Close(connection);
  }
  connections_.clear();
  return absl::OkStatus();
}

bool StrictRelay::Accept() {
  absl::StatusOr<Fd> client = listener_.Accept();
  if (!client.ok() || !client->valid()) return false;
  absl::StatusOr<Fd> server =
      Connect(options_.upstream, absl::Now() + absl::Seconds(5));
  if (!server.ok()) {
    // The client learns why, as from a server out of resources.
    std::fprintf(stderr, "sockrpc conformance: %s\n",
                 std::string(server.status().message()).c_str());
    std::string refusal =
        Preface() + GoAway(14, absl::StrCat("conformance: upstream: ",
                                            server.status().message()));
    WriteAll(client->get(), &refusal, absl::Now() + absl::Seconds(1));
    ++upstream_failures_;
    return true;
  }
  connections_.emplace_back(*std::move(client), *std::move(server), report_,
                            options_);
  return true;
}

bool StrictRelay::ReadClient(Connection& connection) {
  char buffer[64 * 1024];
  absl::StatusOr<ssize_t> count =
      ReadSome(connection.client.get(), buffer, sizeof buffer);
  connection.drained_client_bytes = count.ok() && *count > 0;
  if (!count.ok() || *count == 0) return false;
  if (*count < 0) return true;
  connection.to_server +=
      connection.judge.FromClient(absl::string_view(buffer, *count));
  return true;
}

bool StrictRelay::ReadServer(Connection& connection) {
  char buffer[64 * 1024];
  absl::StatusOr<ssize_t> count =
      ReadSome(connection.server.get(), buffer, sizeof buffer);
  if (!count.ok() || *count == 0) return false;
  if (*count < 0) return true;
  absl::string_view bytes(buffer, *count);
  std::string out;
  if (connection.server_preface_left > 0) {
    const size_t raw = std::min(connection.server_preface_left, bytes.size());
    out.append(bytes.data(), raw);
    bytes.remove_prefix(raw);
    connection.server_preface_left -= raw;
    if (connection.server_preface_left == 0) {
      // What every client must cope with, right after the preface.
      std::string payload = absl::StrCat("ping", pings_sent_++);
      payload.resize(8, '.');
      out += Ping(payload) +
             Frame(kUnknownType, 0, 0, "an extension frame to skip") +
             WindowUpdate(0, 1);
      connection.judge.PingSent(payload, absl::Now());
    }
  }
  connection.server_pending.append(bytes.data(), bytes.size());
  if (connection.server_preface_left == 0) {
    RawFrame frame;
    while (CutRawFrame(&connection.server_pending, &frame)) {
      if (frame.type == kStatus && frame.stream_id != 0) {
        out += Frame(kUnknownType, 0xff, frame.stream_id, "skip me");
      }
      out += frame.bytes;
    }
  }
  connection.judge.ToClient(out);
  connection.to_client += out;
  return true;
}

bool StrictRelay::Flush(Connection& connection) {
  return WritePending(connection.client.get(), &connection.to_client) &&
         WritePending(connection.server.get(), &connection.to_server);
}

void StrictRelay::Close(Connection& connection) {
  // What one side said last (a GOAWAY, a STATUS) still reaches the other.
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  WriteAll(connection.client.get(), &connection.to_client, deadline);
  WriteAll(connection.server.get(), &connection.to_server, deadline);
  connection.judge.Closed(absl::Now());
}

}  // namespace conformance
}  // namespace sockrpc
