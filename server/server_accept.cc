// ServerRuntime's accept path: taking new connections from the listeners,
// admitting them (peer credentials, max_connections), refusing with a
// GOAWAY those it will not serve (full, or out of descriptors), and the
// pause of a full server's listeners.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/server_runtime.h"
#include "transport/address.h"
#include "transport/byte_stream.h"
#include "transport/socket.h"
#include "transport/status_macros.h"
#include "transport/tls_stream.h"
#include "transport/wire_codec.h"

namespace sockrpc {
namespace {

std::string PeerOf(int fd, const Address& listener_address) {
  if (listener_address.is_unix()) return listener_address.ToString();
  const std::optional<Address> peer = PeerAddressOf(fd);
  return peer.has_value() ? peer->ToString() : "unknown";
}

// The credentials of a unix socket's peer, if the kernel tells them.
std::optional<PeerCredentials> CredentialsOf(int fd) {
  absl::StatusOr<PeerCredentials> read = GetPeerCredentials(fd);
  if (!read.ok()) return std::nullopt;
  return *read;
}

}  // namespace

void ServerRuntime::AcceptConnections(size_t index) {
  Listener& listener = listeners_[index];
  for (;;) {
    {
      MutexLock lock(&mu_);
      // The listener is closing (shutdown, or exit_when_idle).
      if (state_ != State::kRunning || idle_exit_) return;
      if (static_cast<int>(connections_.size()) >= options_.max_connections &&
          !RefusingWhileFullLocked(index)) {
        return;  // paused: the listener is armed again when room is made
      }
      ++accepts_running_;  // until the connection is in connections_
    }
    absl::StatusOr<Fd> fd = listener.Accept([&](int shed) {
      // Out of descriptors: the peer learns why before it is closed (a TLS
      // client could not read it: it is just closed).
      if (!SpeaksTls(listener)) RefuseConnection(shed, out_of_fds_refusal_);
    });
    if (!fd.ok()) {
      MutexLock lock(&mu_);
      --accepts_running_;
      LogThrottled(&accept_failure_log_,
                   absl::StrCat("accept failed: ", fd.status().message(), " (",
                                connections_.size(), " connections open)"));
      break;
    }
    if (!fd->valid()) {
      MutexLock lock(&mu_);
      --accepts_running_;
      break;
    }
    std::string peer = PeerOf(fd->get(), listener.address());
    const std::optional<PeerCredentials> credentials =
        listener.address().is_unix() ? CredentialsOf(fd->get()) : std::nullopt;
    const bool authorized = Admits(credentials);
    absl::StatusOr<std::unique_ptr<ByteStream>> stream =
        StreamFor(listener, *std::move(fd));
    MutexLock lock(&mu_);
    --accepts_running_;
    if (!stream.ok()) {
      Log(absl::StrCat("connection from ", peer,
                       " dropped: ", stream.status().message()));
      continue;
    }
    if (state_ != State::kRunning) break;  // shutting down: fd closes here
    if (absl::Status room = RoomForConnectionLocked(); !room.ok()) {
      LogThrottled(&refused_full_log_,
                   absl::StrCat("connection from ", peer, " refused: already ",
                                options_.max_connections,
                                " connections (max_connections)"));
      // (A TLS client could not read a plaintext refusal: it is closed.)
      if (!SpeaksTls(listener)) {
        RefuseConnection((*stream)->fd(), RefusalBytes(room));
      }
      continue;
    }
    (void)AddConnectionLocked(*std::move(stream), std::move(peer), credentials,
                              authorized);
  }
  MutexLock lock(&mu_);
  if (state_ == State::kRunning && !idle_exit_) ArmListenerLocked(index);
}

bool ServerRuntime::SpeaksTls(const Listener& listener) const {
  return tls_contexts_ != nullptr && !listener.address().is_unix();
}

absl::StatusOr<std::unique_ptr<ByteStream>> ServerRuntime::StreamFor(
    const Listener& listener, Fd fd) {
  if (!SpeaksTls(listener)) {
    return std::make_unique<SocketStream>(std::move(fd));
  }
  std::string reload_error;
  std::shared_ptr<const TlsContext> context =
      tls_contexts_->Current(absl::Now(), &reload_error);
  if (!reload_error.empty()) Log(reload_error);
  SOCKRPC_ASSIGN_OR_RETURN(
      std::unique_ptr<TlsStream> stream,
      TlsStream::Create(std::move(context), std::move(fd), no_tls_refusal_));
  return std::unique_ptr<ByteStream>(std::move(stream));
}

absl::StatusOr<Fd> ServerRuntime::ConnectInProcess() {
  SOCKRPC_ASSIGN_OR_RETURN(ConnectedPair pair, SocketPair());
  const std::optional<PeerCredentials> credentials =
      CredentialsOf(pair.first.get());
  const bool authorized = Admits(credentials);
  MutexLock lock(&mu_);
  if (state_ != State::kRunning || idle_exit_) {
    return absl::FailedPreconditionError(
        "in-process connection refused: the server is not running");
  }
  SOCKRPC_RETURN_IF_ERROR(RoomForConnectionLocked());
  if (!AddConnectionLocked(
           std::make_unique<SocketStream>(std::move(pair.first)), "in-process",
           credentials, authorized)
           .has_value()) {
    return absl::ResourceExhaustedError(
        "in-process connection refused: the server cannot watch it");
  }
  return std::move(pair.second);
}

absl::Status ServerRuntime::RoomForConnectionLocked() const {
  if (static_cast<int>(connections_.size()) < options_.max_connections) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("server has too many connections (limit ",
                   options_.max_connections, ")"));
}

std::optional<uint64_t> ServerRuntime::AddConnectionLocked(
    std::unique_ptr<ByteStream> stream, std::string peer,
    const std::optional<PeerCredentials>& credentials, bool authorized) {
  const uint64_t tag = next_connection_tag_++;
  const int fd = stream->fd();
  const absl::Time now = absl::Now();
  const absl::Time handshake_deadline = now + options_.handshake_timeout;
  connections_.emplace(tag, std::make_shared<ServerConnection>(
                                this, tag, std::move(stream), std::move(peer),
                                credentials, authorized, handshake_deadline));
  if (fd >= 0) {
    absl::Status added = poller_.Add(fd, kConnectionEvents, tag);
    if (!added.ok()) {
      Log(absl::StrCat("cannot watch a new connection: ", added.message()));
      connections_.erase(tag);
      return std::nullopt;
    }
  }
  if (stats_ != nullptr) stats_->ConnectionOpened();
  // Look at it when its preface is due, or sooner if it may be idle or
  // due a keepalive PING by then; later looks are scheduled by
  // Housekeeping() itself.
  absl::Time look = handshake_deadline;
  if (options_.idle_timeout > absl::ZeroDuration()) {
    look = std::min(look, now + options_.idle_timeout);
  }
  if (options_.keepalive_time > absl::ZeroDuration()) {
    look = std::min(look, now + options_.keepalive_time);
  }
  ArmHousekeepingLocked(look);
  return tag;
}

bool ServerRuntime::RefusingWhileFullLocked(size_t index) {
  // Connections whose peers have gone may still be counted: their hang-ups
  // wait among the events this thread returns to. So the first time the
  // server is found full it stops accepting for a while rather than refuse
  // newcomers in their place; each close handled meanwhile makes room and
  // resumes (CloseConnection()). Only a server still full after the
  // grace refuses, and then refuses at once until room is made.
  const absl::Time now = absl::Now();
  if (full_since_ == absl::InfiniteFuture()) full_since_ = now;
  if (now - full_since_ >= kFullGrace) return true;
  if (paused_listeners_.size() <= index) paused_listeners_.resize(index + 1);
  paused_listeners_[index] = true;
  ArmHousekeepingLocked(full_since_ + kFullGrace);
  return false;
}

void ServerRuntime::ResumeListenersLocked() {
  for (size_t i = 0; i < paused_listeners_.size(); ++i) {
    if (!paused_listeners_[i]) continue;
    paused_listeners_[i] = false;
    if (state_ == State::kRunning && !idle_exit_) ArmListenerLocked(i);
  }
}

void ServerRuntime::ArmListenerLocked(size_t index) {
  (void)poller_.Modify(listeners_[index].fd(), EPOLLIN | EPOLLONESHOT,
                       kFirstListenerTag + index);
}

void ServerRuntime::LogThrottled(LogThrottle* throttle,
                                 absl::string_view line) {
  std::optional<std::string> admitted = throttle->Admit(line, absl::Now());
  if (admitted.has_value()) Log(*admitted);
}

bool ServerRuntime::Admits(
    const std::optional<PeerCredentials>& credentials) const {
  if (options_.allowed_uids.empty() && options_.allowed_gids.empty()) {
    return true;
  }
  if (!credentials.has_value()) return false;
  auto contains = [](const auto& list, auto value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  return contains(options_.allowed_uids, credentials->uid) ||
         contains(options_.allowed_gids, credentials->gid);
}

std::string ServerRuntime::RefusalBytes(const absl::Status& why) {
  std::string out;
  AppendPreface(&out);
  wire::GoAway goaway;
  goaway.set_code(static_cast<uint32_t>(why.code()));
  goaway.set_message(std::string(why.message()));
  (void)AppendMessageFrame(&out, FrameType::kGoAway, 0, 0, goaway,
                           kDefaultMaxFrameSize);
  return out;
}

void ServerRuntime::RefuseConnection(int fd, const std::string& refusal) {
  iovec iov{const_cast<char*>(refusal.data()), refusal.size()};
  (void)WriteSome(fd, &iov, 1);  // best effort; the caller closes the fd
}

}  // namespace sockrpc
