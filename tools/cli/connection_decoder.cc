#include "tools/cli/connection_decoder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "sockrpc/wire.pb.h"
#include "tools/cli/builtin_schema.h"
#include "tools/cli/json_text.h"
#include "tools/cli/raw_fields.h"

namespace sockrpc {
namespace cli {
namespace {

using google::protobuf::Message;

// Maps can grow without bound on a connection that opens streams and never
// ends them; past this many open streams the oldest knowledge is dropped.
constexpr size_t kMaxTrackedStreams = 100000;

std::string MessageJson(const Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "";
  }
  return json;
}

// Parses `payload` as the generated wire message `T`; on success fills the
// event's JSON and returns true.
template <typename T>
bool DecodeWire(absl::string_view payload, T* message, InspectEvent* event) {
  event->message_type = T::descriptor()->full_name();
  if (!message->ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    event->error = absl::StrCat("payload does not parse as ",
                                event->message_type);
    return false;
  }
  event->json = MessageJson(*message);
  return true;
}

}  // namespace

ConnectionDecoder::ConnectionDecoder(uint32_t connection,
                                     const DecodeOptions& options)
    : connection_(connection),
      options_(options),
      decoders_{StreamDecoder(options.max_payload),
                StreamDecoder(options.max_payload)} {
  if (options_.pool != nullptr) {
    factory_ = std::make_unique<google::protobuf::DynamicMessageFactory>(
        options_.pool);
  }
}

InspectEvent ConnectionDecoder::MakeEvent(EventKind kind, Direction direction,
                                          absl::Time time) const {
  InspectEvent event;
  event.kind = kind;
  event.time = time;
  event.connection = connection_;
  event.direction = direction;
  return event;
}

void ConnectionDecoder::Open(absl::Time time, absl::string_view description,
                             std::vector<InspectEvent>* out) {
  InspectEvent event =
      MakeEvent(EventKind::kOpen, Direction::kClientToServer, time);
  event.text = std::string(description);
  out->push_back(std::move(event));
}

void ConnectionDecoder::Data(Direction direction, absl::Time time,
                             absl::string_view bytes,
                             std::vector<InspectEvent>* out) {
  decoders_[static_cast<int>(direction)].Feed(
      bytes, [&](const StreamDecoder::Piece& piece) {
        AddPiece(direction, time, piece, out);
      });
}

void ConnectionDecoder::End(Direction direction, absl::Time time,
                            absl::string_view failure,
                            std::vector<InspectEvent>* out) {
  StreamDecoder& decoder = decoders_[static_cast<int>(direction)];
  decoder.Finish([&](const StreamDecoder::Piece& piece) {
    AddPiece(direction, time, piece, out);
  });
  InspectEvent event = MakeEvent(EventKind::kEnd, direction, time);
  event.offset = decoder.position();
  event.text = failure.empty() ? "EOF" : std::string(failure);
  out->push_back(std::move(event));
}

void ConnectionDecoder::SetBytes(absl::string_view bytes,
                                 InspectEvent* event) const {
  event->bytes_total = bytes.size();
  event->bytes = std::string(bytes.substr(0, options_.max_shown_bytes));
}

void ConnectionDecoder::AddPiece(Direction direction, absl::Time time,
                                 const StreamDecoder::Piece& piece,
                                 std::vector<InspectEvent>* out) {
  using Kind = StreamDecoder::Piece::Kind;
  InspectEvent event = MakeEvent(EventKind::kFrame, direction, time);
  event.offset = piece.offset;
  event.has_header = piece.has_header;
  event.header = piece.header;
  event.error = piece.reason;
  switch (piece.kind) {
    case Kind::kPreface:
      event.kind = EventKind::kPreface;
      break;
    case Kind::kMalformed:
      event.kind = EventKind::kMalformed;
      SetBytes(piece.bytes, &event);
      break;
    case Kind::kUnframed:
      event.kind = EventKind::kUnframed;
      SetBytes(piece.bytes, &event);
      break;
    case Kind::kTruncated:
      event.kind = EventKind::kTruncated;
      SetBytes(piece.bytes, &event);
      break;
    case Kind::kOversized:
      event.payload_skipped = true;
      event.error = absl::StrCat("payload of ", piece.header.length,
                                 " bytes not decoded: over the limit of ",
                                 options_.max_payload, " bytes");
      if (auto it = methods_.find(piece.header.stream_id);
          it != methods_.end()) {
        event.method = it->second;
      }
      break;
    case Kind::kFrame:
      DecodePayload(piece.payload, &event);
      break;
  }
  out->push_back(std::move(event));
}

void ConnectionDecoder::DecodePayload(absl::string_view payload,
                                      InspectEvent* event) {
  const uint32_t stream = event->header.stream_id;
  const bool from_client = event->direction == Direction::kClientToServer;
  if (auto it = methods_.find(stream); it != methods_.end()) {
    event->method = it->second;
  }
  switch (static_cast<FrameType>(event->header.type)) {
    case FrameType::kHeaders:
      if (from_client) {
        wire::CallHeader header;
        if (DecodeWire(payload, &header, event)) {
          event->method = header.method();
          if (methods_.size() >= kMaxTrackedStreams) methods_.clear();
          methods_[stream] = header.method();
          return;
        }
      } else {
        wire::ResponseHeader header;
        if (DecodeWire(payload, &header, event)) return;
      }
      break;
    case FrameType::kMessage:
      DecodeMessage(payload, event);
      return;
    case FrameType::kStatus: {
      wire::CallStatus status;
      if (!from_client) methods_.erase(stream);
      if (DecodeWire(payload, &status, event)) return;
      break;
    }
    case FrameType::kCancel: {
      wire::CancelCall cancel;
      if (DecodeWire(payload, &cancel, event)) return;
      break;
    }
    case FrameType::kGoAway: {
      wire::GoAway goaway;
      if (DecodeWire(payload, &goaway, event)) return;
      break;
    }
    case FrameType::kWindowUpdate: {
      uint32_t increment = 0;
      if (DecodeWindowUpdate(payload, &increment)) {
        event->json = absl::StrCat("{\"increment\":", increment, "}");
        return;
      }
      event->error = absl::StrCat("WINDOW_UPDATE payload is ",
                                  payload.size(), " bytes, not 4");
      break;
    }
    case FrameType::kPing:
      event->json = absl::StrCat("{\"data\":", JsonQuote(LowerHex(payload)),
                                 "}");
      return;
    case FrameType::kSettings: {
      wire::Settings settings;
      if (DecodeWire(payload, &settings, event)) return;
      break;
    }
    case FrameType::kFds: {
      wire::FdsHeader fds;
      if (DecodeWire(payload, &fds, event)) return;
      break;
    }
    case FrameType::kHalfClose:
      if (payload.empty()) return;
      event->error = "HALF_CLOSE carries an unexpected payload";
      break;
    default:
      event->error =
          absl::StrFormat("unknown frame type 0x%02x (receivers skip it)",
                          event->header.type);
      break;
  }
  ShowUndecoded(payload, event);
}

void ConnectionDecoder::DecodeMessage(absl::string_view payload,
                                      InspectEvent* event) {
  const bool from_client = event->direction == Direction::kClientToServer;
  if (event->method.empty()) {
    event->error = "no HEADERS seen for this stream: method unknown";
    ShowUndecoded(payload, event);
    return;
  }
  // "/package.Service/Method": looked up in the schema, then among the
  // built-in services (reflection), which decode even without a schema.
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(event->method), '/');
  const google::protobuf::MethodDescriptor* method = nullptr;
  if (parts.size() == 3 && parts[0].empty()) {
    if (options_.pool != nullptr) {
      const google::protobuf::ServiceDescriptor* service =
          options_.pool->FindServiceByName(std::string(parts[1]));
      if (service != nullptr) {
        method = service->FindMethodByName(std::string(parts[2]));
      }
    }
    if (method == nullptr) method = FindBuiltinMethod(parts[1], parts[2]);
  }
  if (method == nullptr) {
    event->error =
        options_.pool == nullptr
            ? "no schema (use --proto or --protoset)"
            : absl::StrCat("method ", event->method, " not in the schema");
    ShowUndecoded(payload, event);
    return;
  }
  const google::protobuf::Descriptor* type =
      from_client ? method->input_type() : method->output_type();
  event->message_type = type->full_name();
  const Message* prototype =
      type->file()->pool() == google::protobuf::DescriptorPool::generated_pool()
          ? google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                type)
          : factory_->GetPrototype(type);
  std::unique_ptr<Message> message(prototype->New());
  if (!message->ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    event->error = absl::StrCat("payload does not parse as ", type->full_name());
    ShowUndecoded(payload, event);
    return;
  }
  event->json = MessageJson(*message);
  const auto& unknown = message->GetReflection()->GetUnknownFields(*message);
  if (!unknown.empty()) {
    // Fields the schema does not know (a newer peer?): JSON drops them.
    std::string unknown_bytes;
    unknown.SerializeToString(&unknown_bytes);
    event->error = "fields not in the schema";
    event->raw_fields = RawFieldsText(unknown_bytes).value_or("");
  }
}

void ConnectionDecoder::ShowUndecoded(absl::string_view payload,
                                      InspectEvent* event) const {
  event->json.clear();
  if (std::optional<std::string> raw = RawFieldsText(payload)) {
    event->raw_fields = *std::move(raw);
    return;
  }
  SetBytes(payload, event);
}

}  // namespace cli
}  // namespace sockrpc
