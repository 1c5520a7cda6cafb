#include "tools/conformance/client_judge.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "sockrpc/wire.pb.h"
#include "tools/conformance/frames.h"
#include "transport/frame.h"

namespace sockrpc {
namespace conformance {
namespace {

// Whether `method` is "/" + service + "/" + method, both non-empty, with
// no third slash (section 6.5).
bool IsWellFormedMethod(absl::string_view method) {
  if (method.size() < 4 || method[0] != '/') return false;
  const size_t slash = method.find('/', 1);
  return slash != absl::string_view::npos && slash > 1 &&
         slash + 1 < method.size() &&
         method.find('/', slash + 1) == absl::string_view::npos;
}

// Why request metadata breaks section 6.7's rules, or "" if it does not.
// Written here from the text, not taken from the runtimes, so that a bug
// there is not shared by the judge.
std::string MetadataProblem(const wire::CallHeader& header, size_t limit) {
  size_t size = 0;
  for (const wire::MetadataEntry& entry : header.metadata()) {
    const std::string& key = entry.key();
    size += key.size() + entry.value().size();
    if (key.empty()) return "an empty key";
    for (char c : key) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.')) {
        return absl::StrCat("key \"", key,
                            "\" has a character outside a-z 0-9 - _ .");
      }
    }
    const bool binary =
        key.size() >= 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
    for (char c : entry.value()) {
      if (!binary && (c < 0x20 || c > 0x7e)) {
        return absl::StrCat("the value of \"", key,
                            "\" is not printable ASCII (and the key does "
                            "not end in -bin)");
      }
    }
  }
  if (size > limit) {
    return absl::StrCat(size, " bytes of metadata, over the limit of ", limit);
  }
  return "";
}

bool IsCallFrame(uint8_t type) {
  return type == kHeaders || type == kMessage || type == kStatus ||
         type == kCancel || type == kHalfClose;
}

}  // namespace

const std::vector<ClientCheck>& ClientChecks() {
  static const std::vector<ClientCheck>* const checks =
      new std::vector<ClientCheck>{
          {"C3/1", "the client starts with the 8-byte preface"},
          {"C4.1/1", "the reserved bytes of every frame are 00 00"},
          {"C4.2/1", "the client sends no STATUS and no frame of type 0"},
          {"C4.3/1",
           "the client sets no undefined flag bit (END_STREAM only on HEADERS "
           "and MESSAGE, ACK only on PING)"},
          {"C4.7/1", "CANCEL only on streams the client opened"},
          {"C4.9/1",
           "the client answers the server's PING with a PING ACK carrying the "
           "same bytes"},
          {"C4.10/1", "every WINDOW_UPDATE payload is 4 bytes"},
          {"C4.11/1",
           "HALF_CLOSE is empty, on a stream the client opened and had not "
           "half-closed"},
          {"C5/1", "every HEADERS payload parses as a CallHeader"},
          {"C6.1/1",
           "stream ids are not 0 and rise with every HEADERS sent, never "
           "reused"},
          {"C6.2/1",
           "MESSAGE only on streams the client opened and has not "
           "half-closed"},
          {"C6.5/1", "method names have the shape /package.Service/Method"},
          {"C6.7/1",
           "request metadata follows the key and value rules and fits the "
           "limit"},
          {"C6.8/1",
           "no MESSAGE while the client's window on its stream is used up"},
          {"C8.1/1",
           "call frames never on stream 0; PING and GOAWAY only on stream 0"},
          {"C8.2/1", "no frame over the frame-size limit"},
      };
  return *checks;
}

void ClientReport::Fail(const char* id, std::string expected, std::string got,
                        absl::string_view received) {
  Entry& entry = entries_[id];
  if (entry.failed) return;
  entry.failed = true;
  entry.expected = std::move(expected);
  entry.got = std::move(got);
  entry.received = std::string(received);
}

ClientReport::Entry ClientReport::Get(const std::string& id) const {
  auto found = entries_.find(id);
  return found == entries_.end() ? Entry{} : found->second;
}

ClientJudge::ClientJudge(ClientReport* report, uint32_t max_frame_size,
                         uint32_t max_metadata_size)
    : report_(report),
      max_frame_size_(max_frame_size),
      max_metadata_size_(max_metadata_size) {
  report_->AddConnection();
}

void ClientJudge::Fail(const char* id, std::string expected, std::string got) {
  report_->Fail(id, std::move(expected), std::move(got), client_bytes_);
}

std::string ClientJudge::FromClient(absl::string_view bytes) {
  client_bytes_.append(
      bytes.data(), std::min(bytes.size(), kKeptBytes - client_bytes_.size()));
  client_pending_.append(bytes.data(), bytes.size());
  std::string forward;
  if (!preface_judged_) {
    if (client_pending_.size() < kPrefaceSize) return forward;
    preface_judged_ = true;
    const std::string preface = client_pending_.substr(0, kPrefaceSize);
    report_->Exercised("C3/1");
    preface_ok_ = preface == Preface();
    if (!preface_ok_) {
      Fail("C3/1", absl::StrCat("the preface ", Hex(Preface())), Hex(preface));
    }
    forward = preface;
    client_pending_.erase(0, kPrefaceSize);
  }
  if (!preface_ok_) {
    // Not sockrpc: nothing more to judge; the server will refuse it.
    forward += client_pending_;
    client_pending_.clear();
    return forward;
  }
  RawFrame frame;
  while (CutRawFrame(&client_pending_, &frame)) {
    if (JudgeFrame(frame)) forward += frame.bytes;
  }
  return forward;
}

bool ClientJudge::JudgeFrame(const RawFrame& frame) {
  const std::string what = frame.Describe();
  const uint32_t id = frame.stream_id;
  report_->Exercised("C4.1/1");
  if (frame.reserved != 0) Fail("C4.1/1", "reserved bytes 00 00", what);
  report_->Exercised("C4.2/1");
  if (frame.type == 0 || frame.type == kStatus) {
    Fail("C4.2/1",
         "HEADERS, MESSAGE, CANCEL, WINDOW_UPDATE, PING, GOAWAY or "
         "HALF_CLOSE",
         what);
  }
  report_->Exercised("C4.3/1");
  const uint8_t allowed =
      frame.type == kHeaders || frame.type == kMessage || frame.type == kPing
          ? kFlagEndStream
          : 0;
  if (IsKnownFrameType(frame.type) && (frame.flags & ~allowed) != 0) {
    Fail("C4.3/1", "no flag bit but END_STREAM or ACK where defined", what);
  }
  report_->Exercised("C8.1/1");
  if ((IsCallFrame(frame.type) && id == 0) ||
      ((frame.type == kPing || frame.type == kGoAway) && id != 0)) {
    Fail("C8.1/1", "call frames on a stream, PING and GOAWAY on stream 0",
         what);
  }
  report_->Exercised("C8.2/1");
  if (frame.length > max_frame_size_) {
    Fail("C8.2/1",
         absl::StrCat("frames of at most ", max_frame_size_, " bytes"), what);
  }
  auto stream = streams_.find(id);
  const bool opened = id != 0 && stream != streams_.end();
  switch (frame.type) {
    case kHeaders:
      JudgeHeaders(frame);
      break;
    case kMessage:
      report_->Exercised("C6.2/1");
      if (!opened || stream->second.half_closed) {
        Fail("C6.2/1",
             "a MESSAGE on an open stream the client has not "
             "half-closed",
             what);
        break;
      }
      report_->Exercised("C6.8/1");
      if (stream->second.window <= 0) {
        Fail("C6.8/1",
             absl::StrCat("no MESSAGE on stream ", id,
                          " until the server "
                          "gives window (it is at ",
                          stream->second.window, ")"),
             what);
      }
      stream->second.window -= frame.length;
      if ((frame.flags & kFlagEndStream) != 0)
        stream->second.half_closed = true;
      break;
    case kHalfClose:
      report_->Exercised("C4.11/1");
      if (!opened || stream->second.half_closed || frame.length != 0) {
        Fail("C4.11/1", "an empty HALF_CLOSE on an open stream, once", what);
      }
      if (opened) stream->second.half_closed = true;
      break;
    case kCancel:
      report_->Exercised("C4.7/1");
      if (!opened) Fail("C4.7/1", "CANCEL on a stream the client opened", what);
      break;
    case kWindowUpdate:
      report_->Exercised("C4.10/1");
      if (frame.length != 4) Fail("C4.10/1", "a 4-byte payload", what);
      break;
    case kPing:
      if ((frame.flags & kFlagAck) != 0) {
        auto ping = pings_.find(frame.payload);
        if (ping != pings_.end()) {
          report_->Exercised("C4.9/1");
          pings_.erase(ping);
          return false;  // the answer to our PING: not for the server
        }
      }
      break;
    default:
      break;
  }
  return true;
}

void ClientJudge::JudgeHeaders(const RawFrame& frame) {
  const std::string what = frame.Describe();
  const uint32_t id = frame.stream_id;
  report_->Exercised("C6.1/1");
  if (id == 0 || id <= last_stream_id_) {
    Fail("C6.1/1",
         absl::StrCat("a stream id above ", last_stream_id_,
                      " (the last one used)"),
         what);
  }
  if (id > last_stream_id_) last_stream_id_ = id;
  Stream& stream = streams_[id];
  stream = Stream{};
  stream.half_closed = (frame.flags & kFlagEndStream) != 0;
  if (frame.length > max_frame_size_) return;
  report_->Exercised("C5/1");
  wire::CallHeader header;
  if (!header.ParseFromString(frame.payload)) {
    Fail("C5/1", "a CallHeader", absl::StrCat(what, ": ", Hex(frame.payload)));
    return;
  }
  report_->Exercised("C6.5/1");
  if (!IsWellFormedMethod(header.method())) {
    Fail("C6.5/1", "/package.Service/Method",
         absl::StrCat("\"", header.method(), "\""));
  }
  report_->Exercised("C6.7/1");
  const std::string problem = MetadataProblem(header, max_metadata_size_);
  if (!problem.empty()) {
    Fail("C6.7/1", "valid request metadata (section 6.7)", problem);
  }
}

void ClientJudge::ToClient(absl::string_view bytes) {
  const size_t raw = std::min(server_preface_left_, bytes.size());
  bytes.remove_prefix(raw);
  server_preface_left_ -= raw;
  server_pending_.append(bytes.data(), bytes.size());
  RawFrame frame;
  while (CutRawFrame(&server_pending_, &frame)) {
    if (frame.type != kWindowUpdate || frame.length != 4) continue;
    auto stream = streams_.find(frame.stream_id);
    uint32_t increment = 0;
    if (stream != streams_.end() &&
        DecodeWindowUpdate(frame.payload, &increment)) {
      stream->second.window += increment;
    }
  }
}

void ClientJudge::PingSent(std::string payload, absl::Time when) {
  pings_[std::move(payload)] = when;
}

void ClientJudge::Closed(absl::Time when) {
  for (const auto& [payload, sent] : pings_) {
    // A connection that ends soon after the PING may end before the
    // answer is written; one open a second longer had time to answer.
    if (when - sent > absl::Seconds(1)) {
      report_->Exercised("C4.9/1");
      Fail("C4.9/1", absl::StrCat("a PING ACK carrying ", Hex(payload)),
           absl::StrCat("none in the ", absl::FormatDuration(when - sent),
                        " the connection stayed open"));
    }
  }
  pings_.clear();
}

}  // namespace conformance
}  // namespace sockrpc
