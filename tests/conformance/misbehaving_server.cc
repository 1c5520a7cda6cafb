// misbehaving_server: a sockrpc server that breaks one rule of
// docs/PROTOCOL.md on purpose, to prove that `sockrpc conformance` catches
// it. Test-only.
//
//   misbehaving_server --listen ADDR --upstream ADDR [--break CHECK_ID]
//
// It relays each connection, frame by frame, to a real server (an
// interop_server at --upstream) and changes the traffic the way a server
// with that one bug would behave: it lets a malformed frame through
// unnoticed, answers what it should ignore, drops what it must send, and
// so on. The bug for each check id is in kBugs below. Without --break it
// relays faithfully, and must pass every check (so that a check failing
// under --break fails for that bug and no other reason).
//
// Prints "listening on ADDRESS" and "server waiting" once it accepts.
// One thread per connection; SIGTERM ends the process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "examples/common/program_flags.h"
#include "sockrpc/wire.pb.h"
#include "tests/conformance/misbehaving_bugs.h"
#include "tools/conformance/frames.h"
#include "tools/conformance/wire_peer.h"
#include "transport/address.h"
#include "transport/socket.h"

ABSL_FLAG(std::string, listen, "", "address to listen on");
ABSL_FLAG(std::string, upstream, "", "the real server to relay to");
ABSL_FLAG(std::string, break_check, "",
          "the check id whose rule to break (none: relay faithfully)");
ABSL_FLAG(uint32_t, max_frame_size, 1u << 20, "the upstream's frame limit");

namespace sockrpc {
namespace conformance {
namespace {

// Takes the complete frames at the front of `bytes`.
std::vector<RawFrame> CutFrames(std::string* bytes) {
  std::vector<RawFrame> frames;
  RawFrame frame;
  while (CutRawFrame(bytes, &frame)) frames.push_back(std::move(frame));
  return frames;
}

// The frame's bytes, from its fields (which a bug may have changed).
std::string Bytes(const RawFrame& frame) {
  return Frame(frame.type, frame.flags, frame.stream_id, frame.payload,
               frame.reserved, frame.length);
}

std::string StatusFrame(uint32_t stream_id, uint32_t code,
                        const std::string& message) {
  wire::CallStatus status;
  status.set_code(code);
  status.set_message(message);
  return Frame(kStatus, 0, stream_id, status.SerializeAsString());
}

bool IsMalformedName(const std::string& name) {
  if (name.size() < 4 || name[0] != '/') return true;
  const size_t slash = name.find('/', 1);
  return slash == std::string::npos || slash == 1 || slash + 1 == name.size() ||
         name.find('/', slash + 1) != name.npos;
}

// One relayed connection.
class Relay {
 public:
  Relay(Bug bug, uint32_t max_frame_size, Fd client, Fd upstream)
      : bug_(bug),
        max_frame_size_(max_frame_size),
        client_(std::move(client)),
        upstream_(std::move(upstream)) {}

  void Run() {
    if (!HandshakeBug()) return;
    std::string from_client;
    std::string from_server;
    char buffer[64 * 1024];
    for (;;) {
      pollfd fds[2] = {{client_.get(), POLLIN, 0},
                       {upstream_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) return;
      for (int side = 0; side < 2; ++side) {
        if (fds[side].revents == 0) continue;
        const ssize_t count = read(fds[side].fd, buffer, sizeof buffer);
        if (count <= 0) return;  // either side closed: close both
        std::string& bytes = side == 0 ? from_client : from_server;
        bytes.append(buffer, count);
        // Each side's preface goes through as it is.
        size_t& preface_left =
            side == 0 ? client_preface_left_ : server_preface_left_;
        const size_t raw = std::min(preface_left, bytes.size());
        if (side == 1 && raw > 0 && preface_left == kPrefaceSize &&
            bug_ == Bug::kFrameBeforeTheFirstAnswer) {
          to_client_ += WindowUpdate(0, 1);  // before the preface
        }
        (side == 0 ? to_server_ : to_client_) += bytes.substr(0, raw);
        bytes.erase(0, raw);
        preface_left -= raw;
        if (preface_left > 0) {
          if (!Flush()) return;
          continue;
        }
        std::vector<RawFrame> frames = CutFrames(&bytes);
        if (side == 0) {
          Reorder(&frames);
          for (RawFrame& frame : frames) {
            if (!FromClient(frame)) return (void)Flush();
          }
        } else {
          for (RawFrame& frame : frames) {
            if (!FromServer(frame)) return (void)Flush();
          }
        }
        if (!Flush()) return;
      }
    }
  }

 private:
  // The handshake bugs read the client's preface here and judge it; true
  // to go on relaying (the preface, if any, already sent upstream).
  bool HandshakeBug() {
    if (bug_ != Bug::kJudgesAPartialPreface &&
        bug_ != Bug::kGoAwayBeforeThePreface &&
        bug_ != Bug::kNoGoAwayForABadVersion &&
        bug_ != Bug::kSilentOnAMissingPreface) {
      return true;
    }
    std::string preface;
    const absl::Time deadline = absl::Now() + absl::Milliseconds(1500);
    while (preface.size() < kPrefaceSize) {
      char buffer[kPrefaceSize];
      if (!WaitFor(client_.get(), POLLIN, deadline).ok()) return false;
      const ssize_t count =
          read(client_.get(), buffer, kPrefaceSize - preface.size());
      if (count <= 0) return false;
      preface.append(buffer, count);
      if (bug_ == Bug::kJudgesAPartialPreface && preface.size() < 8) {
        return false;
      }
    }
    const bool bad_magic = preface.compare(0, 7, Preface(), 0, 7) != 0;
    if (bug_ == Bug::kGoAwayBeforeThePreface && bad_magic) {
      SendAll(client_, GoAway(3, "bad connection preface"));
      return false;
    }
    if (bug_ == Bug::kNoGoAwayForABadVersion && !bad_magic &&
        preface[7] != Preface()[7]) {
      SendAll(client_, Preface());
      return false;
    }
    client_preface_left_ = 0;
    return SendAll(upstream_, preface);
  }

  // Puts each HALF_CLOSE after the MESSAGEs of its stream that follow it
  // in the same batch, so that they count (kCountsMessagesAfterHalfClose).
  void Reorder(std::vector<RawFrame>* frames) {
    if (bug_ != Bug::kCountsMessagesAfterHalfClose) return;
    for (size_t i = 0; i + 1 < frames->size(); ++i) {
      RawFrame& here = (*frames)[i];
      RawFrame& next = (*frames)[i + 1];
      if (here.type == kHalfClose && next.type == kMessage &&
          next.stream_id == here.stream_id) {
        std::swap(here, next);
      }
    }
  }

  // Ends the connection the way a server does for a connection error.
  bool Reject(const std::string& why) {
    to_client_ += GoAway(13, absl::StrCat("protocol error: ", why));
    return false;
  }

  // Answers stream `stream_id` with a STATUS of our own and forgets it.
  void AnswerHere(uint32_t stream_id, uint32_t code,
                  const std::string& message) {
    to_client_ += StatusFrame(stream_id, code, message);
    answered_.insert(stream_id);
  }

  bool IsMalformed(const RawFrame& frame) const {
    const bool call_frame = frame.type == kHeaders || frame.type == kMessage ||
                            frame.type == kStatus || frame.type == kCancel ||
                            frame.type == kHalfClose;
    if (frame.reserved != 0 || frame.type == 0) return true;
    if (call_frame && frame.stream_id == 0) return true;
    if ((frame.type == kPing || frame.type == kGoAway) && frame.stream_id != 0)
      return true;
    if (frame.type == kStatus) return true;
    if (frame.type == kWindowUpdate && frame.length != 4) return true;
    if (frame.type == kHeaders) {
      wire::CallHeader header;
      return frame.stream_id <= last_stream_ ||
             !header.ParseFromString(frame.payload);
    }
    return false;
  }

  // One frame from the client: false to end the connection.
  bool FromClient(RawFrame& frame) {
    const uint32_t id = frame.stream_id;
    if (bug_ == Bug::kLetsMalformedFramesThrough && IsMalformed(frame)) {
      return true;  // dropped: the server never sees what it should reject
    }
    if (answered_.count(id) != 0 && id != 0) return true;
    const bool known = IsKnownFrameType(frame.type);
    const bool over = frame.length > max_frame_size_;
    switch (bug_) {
      case Bug::kRejectsUnknownTypes:
        if (!known) return Reject("unknown frame type");
        break;
      case Bug::kRejectsOversizedUnknownTypes:
        if (!known && over) return Reject("unknown frame over the limit");
        break;
      case Bug::kOversizedUnknownEndsTheCall:
        if (!known && over && opened_.count(id) != 0) {
          AnswerHere(id, 8, "frame exceeds the limit");
          return true;
        }
        break;
      case Bug::kFrameLimitOffByOne:
        if (frame.type == kMessage && frame.length >= max_frame_size_) {
          AnswerHere(id, 8, "frame exceeds the limit");
          return true;
        }
        break;
      case Bug::kRejectsUnknownCallFlags:
        if ((frame.type == kHeaders || frame.type == kMessage) &&
            (frame.flags & ~kFlagEndStream) != 0) {
          return Reject("unknown flags");
        }
        break;
      default:
        break;
    }
    if (frame.type == kPing) return PingFromClient(frame);
    if (frame.type == kGoAway && bug_ == Bug::kIgnoresClientGoAway) {
      return true;
    }
    if (frame.type == kWindowUpdate && id == 0 &&
        bug_ == Bug::kRejectsWindowUpdateOnStream0) {
      return Reject("WINDOW_UPDATE on stream 0");
    }
    if (frame.type == kHeaders) return HeadersFromClient(frame);
    if (id != 0 && known && opened_.count(id) == 0 &&
        bug_ == Bug::kRejectsUnknownStreams) {
      return Reject(absl::StrCat("frame for unknown stream ", id));
    }
    if (id != 0 && ended_.count(id) != 0 &&
        bug_ == Bug::kAnswersAfterTheStatus) {
      to_client_ += StatusFrame(id, 0, "");
      return true;
    }
    if (frame.type == kCancel && bug_ == Bug::kIgnoresCancel) return true;
    if (frame.type == kHalfClose) {
      if (bug_ == Bug::kRejectsHalfClose) return Reject("HALF_CLOSE");
      if (bug_ == Bug::kIgnoresHalfClose) return true;
      half_closed_.insert(id);
      ReleaseHeldReplies(id);
    }
    if (frame.type == kMessage) {
      awaiting_request_.erase(id);
      if (bug_ == Bug::kIgnoresEndStreamOnMessages) {
        frame.flags &= ~kFlagEndStream;
      }
      if (bug_ == Bug::kRefusesMessagesOverAWindow && frame.length > 65536) {
        AnswerHere(id, 8, "message larger than the window");
        return true;
      }
      if ((frame.flags & kFlagEndStream) != 0) {
        half_closed_.insert(id);
        ReleaseHeldReplies(id);
      }
    }
    to_server_ += Bytes(frame);
    return true;
  }

  bool PingFromClient(const RawFrame& frame) {
    if ((frame.flags & kFlagAck) != 0 && bug_ == Bug::kAnswersPingAcks) {
      to_client_ += Ping(frame.payload, kFlagAck);
      return true;
    }
    if ((frame.flags & ~kFlagAck) != 0 &&
        bug_ == Bug::kPingFlagsTakenLiterally) {
      to_client_ += Ping(frame.payload, frame.flags & ~kFlagAck);
      return true;
    }
    to_server_ += Bytes(frame);
    return true;
  }

  bool HeadersFromClient(RawFrame& frame) {
    const uint32_t id = frame.stream_id;
    if (bug_ == Bug::kRejectsSparseStreamIds && id > last_stream_ + 2) {
      return Reject(absl::StrCat("stream id ", id, " skips ids"));
    }
    if (bug_ == Bug::kRejectsInterleavedCalls && !awaiting_request_.empty()) {
      return Reject("a call opened before the last one's request");
    }
    if (frame.length <= max_frame_size_) {
      wire::CallHeader header;
      if (header.ParseFromString(frame.payload) &&
          !RewriteHeader(id, &header, &frame)) {
        last_stream_ = std::max(last_stream_, id);
        return true;  // answered here
      }
    }
    last_stream_ = std::max(last_stream_, id);
    opened_.insert(id);
    if ((frame.flags & kFlagEndStream) != 0) {
      if (bug_ == Bug::kIgnoresEndStreamOnHeaders) {
        frame.flags &= ~kFlagEndStream;
      } else {
        half_closed_.insert(id);
      }
    }
    if ((frame.flags & kFlagEndStream) == 0) awaiting_request_.insert(id);
    to_server_ += Bytes(frame);
    if (bug_ == Bug::kIgnoresTheClientsWindow) {
      to_server_ += WindowUpdate(id, 1u << 24);
    }
    return true;
  }

  // Applies the metadata and deadline bugs to a CallHeader. False if the
  // call was answered here instead.
  bool RewriteHeader(uint32_t id, wire::CallHeader* header, RawFrame* frame) {
    if (bug_ == Bug::kMalformedNamesNotFound &&
        IsMalformedName(header->method())) {
      AnswerHere(id, 5, "no such method");
      return false;
    }
    size_t size = 0;
    std::set<std::string> keys;
    bool repeated = false;
    for (wire::MetadataEntry& entry : *header->mutable_metadata()) {
      size += entry.key().size() + entry.value().size();
      repeated |= !keys.insert(entry.key()).second;
      if (bug_ == Bug::kLowerCasesKeys) {
        entry.set_key(absl::AsciiStrToLower(entry.key()));
      }
      if (bug_ == Bug::kStripsUnprintableBytes) {
        std::string value = entry.value();
        value.erase(std::remove_if(
                        value.begin(), value.end(),
                        [](char c) { return static_cast<uint8_t>(c) < 0x20; }),
                    value.end());
        entry.set_value(value);
      }
      if (bug_ == Bug::kDropsLargeMetadata && entry.value().size() > 1024) {
        entry.set_value("");
      }
    }
    if (bug_ == Bug::kRejectsRepeatedKeys && repeated) {
      AnswerHere(id, 3, "repeated metadata key");
      return false;
    }
    if (bug_ == Bug::kMetadataLimitOffByOne && size >= 16384) {
      AnswerHere(id, 8, "metadata exceeds the limit");
      return false;
    }
    if (bug_ == Bug::kIgnoresDeadlines) header->set_timeout_micros(0);
    frame->payload = header->SerializeAsString();
    frame->length = static_cast<uint32_t>(frame->payload.size());
    return true;
  }

  // One frame from the server: false to end the connection.
  bool FromServer(RawFrame& frame) {
    const uint32_t id = frame.stream_id;
    if (id != 0 && answered_.count(id) != 0) return true;
    if (frame.type == kPing && bug_ == Bug::kCorruptsPingAcks &&
        !frame.payload.empty()) {
      frame.payload[0] ^= 0x55;
    }
    if (frame.type == kWindowUpdate && bug_ == Bug::kNeverReturnsWindow) {
      return true;
    }
    if (frame.type == kHeaders && bug_ == Bug::kDropsInitialMetadata) {
      return true;
    }
    if (frame.type == kMessage) {
      if (bug_ == Bug::kSetsEndStreamOnReplies) frame.flags |= kFlagEndStream;
      if (bug_ == Bug::kDropsTheSecondReply && ++replies_[id] == 2) {
        return true;
      }
    }
    if (bug_ == Bug::kRepliesOnlyAfterHalfClose && id != 0 &&
        half_closed_.count(id) == 0) {
      held_[id] += Bytes(frame);
      return true;
    }
    to_client_ += Bytes(frame);
    if (frame.type == kStatus) {
      ended_.insert(id);
      wire::CallStatus status;
      status.ParseFromString(frame.payload);
      if (bug_ == Bug::kClosesAfterACallError && status.code() != 0) {
        return false;
      }
    }
    return true;
  }

  void ReleaseHeldReplies(uint32_t id) {
    auto held = held_.find(id);
    if (held == held_.end()) return;
    to_client_ += held->second;
    held_.erase(held);
  }

  static bool SendAll(const Fd& fd, const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t count = send(fd.get(), bytes.data() + done,
                                 bytes.size() - done, MSG_NOSIGNAL);
      if (count <= 0) return false;
      done += count;
    }
    return true;
  }

  bool Flush() {
    const bool ok =
        SendAll(client_, to_client_) && SendAll(upstream_, to_server_);
    to_client_.clear();
    to_server_.clear();
    return ok;
  }

  const Bug bug_;
  const uint32_t max_frame_size_;
  Fd client_;
  Fd upstream_;
  std::string to_client_;
  std::string to_server_;
  size_t client_preface_left_ = kPrefaceSize;
  size_t server_preface_left_ = kPrefaceSize;
  uint32_t last_stream_ = 0;
  std::set<uint32_t> opened_;
  std::set<uint32_t> awaiting_request_;  // HEADERS seen, no MESSAGE yet
  std::set<uint32_t> half_closed_;
  std::set<uint32_t> ended_;     // the server sent STATUS
  std::set<uint32_t> answered_;  // we sent STATUS in the server's place
  std::map<uint32_t, int> replies_;
  std::map<uint32_t, std::string> held_;
};

int Main() {
  bool found = false;
  const Bug bug = BugFor(absl::GetFlag(FLAGS_break_check), &found);
  if (!found) {
    std::fprintf(stderr, "misbehaving_server: no bug for check \"%s\"\n",
                 absl::GetFlag(FLAGS_break_check).c_str());
    return 2;
  }
  absl::StatusOr<Address> listen = ParseAddress(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<Address> upstream =
      ParseAddress(absl::GetFlag(FLAGS_upstream));
  if (!listen.ok() || !upstream.ok()) {
    std::fprintf(stderr, "misbehaving_server: bad --listen or --upstream\n");
    return 2;
  }
  absl::StatusOr<Listener> listener = Listener::Bind(*listen);
  if (!listener.ok()) {
    std::fprintf(stderr, "misbehaving_server: %s\n",
                 listener.status().ToString().c_str());
    return 1;
  }
  // SIGTERM ends the process; with kCloseAtOnceOnSigterm that is the bug
  // (every connection closes without a GOAWAY), and the default action
  // does just that.
  std::fprintf(stderr, "listening on %s\nserver waiting\n",
               listener->address().ToString().c_str());
  const uint32_t max_frame_size = absl::GetFlag(FLAGS_max_frame_size);
  for (;;) {
    if (!WaitFor(listener->fd(), POLLIN, absl::InfiniteFuture()).ok()) break;
    absl::StatusOr<Fd> client = listener->Accept();
    if (!client.ok()) continue;
    std::thread([bug, max_frame_size, client = *std::move(client),
                 upstream = *upstream]() mutable {
      // Blocking sockets: the relay waits in poll() and writes whole.
      const int flags = fcntl(client.get(), F_GETFL);
      fcntl(client.get(), F_SETFL, flags & ~O_NONBLOCK);
      absl::StatusOr<Fd> server =
          Connect(upstream, absl::Now() + absl::Seconds(10));
      if (!server.ok()) return;
      const int server_flags = fcntl(server->get(), F_GETFL);
      fcntl(server->get(), F_SETFL, server_flags & ~O_NONBLOCK);
      Relay(bug, max_frame_size, std::move(client), *std::move(server)).Run();
    }).detach();
  }
  return 1;
}

}  // namespace
}  // namespace conformance
}  // namespace sockrpc

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"misbehaving_server --listen ADDRESS --upstream ADDRESS --break_check "
       "CHECK [OPTIONS]",
       "A server that breaks one rule of docs/PROTOCOL.md on purpose, so "
       "that the tests can prove each check of `sockrpc conformance` fails "
       "against it."});
  signal(SIGPIPE, SIG_IGN);
  return sockrpc::conformance::Main();
}
