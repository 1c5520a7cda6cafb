#include "tools/cli/frame_printer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/cli/json_text.h"

namespace sockrpc {
namespace cli {
namespace {

// ANSI colours, used only when PrintOptions::color is set.
constexpr char kDim[] = "\033[2m";
constexpr char kBold[] = "\033[1m";
constexpr char kRed[] = "\033[31m";
constexpr char kCyan[] = "\033[36m";
constexpr char kMagenta[] = "\033[35m";
constexpr char kYellow[] = "\033[33m";
constexpr char kReset[] = "\033[0m";

// Wraps `text` in `color` when colour is on.
std::string Paint(const PrintOptions& options, const char* color,
                  absl::string_view text) {
  if (!options.color || text.empty()) return std::string(text);
  return absl::StrCat(color, text, kReset);
}

const char* KindName(EventKind kind) {
  switch (kind) {
    case EventKind::kOpen:
      return "open";
    case EventKind::kPreface:
      return "preface";
    case EventKind::kFrame:
      return "frame";
    case EventKind::kMalformed:
      return "malformed";
    case EventKind::kUnframed:
      return "unframed";
    case EventKind::kTruncated:
      return "truncated";
    case EventKind::kEnd:
      return "end";
    case EventKind::kFds:
      return "descriptors";
  }
  return "unknown";
}

// "1024 bytes: 0a01..." with a note when the display was cut short.
std::string HexText(const InspectEvent& event) {
  std::string text = LowerHex(event.bytes);
  if (event.bytes_total > event.bytes.size()) {
    absl::StrAppend(&text, "... (", event.bytes_total, " bytes in all)");
  }
  return text;
}

std::string FrameBody(const InspectEvent& event, const PrintOptions& options) {
  std::string body;
  if (!event.json.empty()) {
    if (!event.message_type.empty() &&
        event.header.type == static_cast<uint8_t>(FrameType::kMessage)) {
      absl::StrAppend(&body, event.message_type, " ");
    }
    absl::StrAppend(&body, event.json);
  }
  if (!event.error.empty()) {
    if (!body.empty()) body.append(" ");
    absl::StrAppend(&body, Paint(options, kRed, absl::StrCat("(", event.error,
                                                             ")")));
  }
  if (event.json.empty() || !event.raw_fields.empty()) {
    if (!event.raw_fields.empty()) {
      absl::StrAppend(&body, " raw: ", event.raw_fields);
    } else if (event.bytes_total > 0) {
      absl::StrAppend(&body, " hex: ", HexText(event));
    } else if (!event.payload_skipped && event.has_header &&
               event.header.length == 0 && !event.error.empty()) {
      absl::StrAppend(&body, " (empty)");
    }
  }
  return body;
}

std::string TextLine(const InspectEvent& event, const PrintOptions& options) {
  std::string line = Paint(
      options, kDim, absl::FormatTime("%H:%M:%E6S", event.time,
                                      absl::LocalTimeZone()));
  absl::StrAppend(&line, " #", event.connection, " ");
  if (event.kind == EventKind::kOpen) {
    absl::StrAppend(&line, Paint(options, kBold, "OPEN"), " ", event.text,
                    "\n");
    return line;
  }
  const bool from_client = event.direction == Direction::kClientToServer;
  absl::StrAppend(&line, Paint(options, from_client ? kCyan : kMagenta,
                               DirectionArrow(event.direction)),
                  " ");
  switch (event.kind) {
    case EventKind::kOpen:
      break;
    case EventKind::kPreface:
      absl::StrAppend(&line, Paint(options, kBold, "PREFACE"), " version ",
                      kProtocolVersion);
      break;
    case EventKind::kFrame: {
      absl::StrAppend(&line,
                      Paint(options, kBold, FrameTypeName(event.header.type)));
      if (FrameTypeName(event.header.type) == absl::string_view("UNKNOWN")) {
        absl::StrAppendFormat(&line, "(0x%02x)", event.header.type);
      }
      absl::StrAppend(&line, " stream=", event.header.stream_id);
      std::string flags = FlagNames(event.header.type, event.header.flags);
      if (!flags.empty()) absl::StrAppend(&line, " ", flags);
      absl::StrAppend(&line, " len=", event.header.length);
      if (!event.method.empty()) {
        absl::StrAppend(&line, " ", Paint(options, kYellow, event.method));
      }
      std::string body = FrameBody(event, options);
      if (!body.empty()) absl::StrAppend(&line, " ", body);
      break;
    }
    case EventKind::kMalformed:
      absl::StrAppend(&line, Paint(options, kRed, "MALFORMED"), " at byte ",
                      event.offset, ": ", event.error, "; bytes: ",
                      HexText(event));
      break;
    case EventKind::kUnframed:
      absl::StrAppend(&line, Paint(options, kRed, "UNFRAMED"), " ",
                      event.bytes_total, " bytes at byte ", event.offset,
                      ": ", HexText(event));
      break;
    case EventKind::kTruncated:
      absl::StrAppend(&line, Paint(options, kRed, "TRUNCATED"), " at byte ",
                      event.offset, ": ", event.error);
      if (event.has_header) {
        absl::StrAppend(&line, " (", FrameTypeName(event.header.type),
                        " stream=", event.header.stream_id, ")");
      }
      if (event.bytes_total > 0) {
        absl::StrAppend(&line, "; bytes: ", HexText(event));
      }
      break;
    case EventKind::kEnd:
      absl::StrAppend(&line, Paint(options, kBold, "END"), " after ",
                      event.offset, " bytes: ", event.text);
      break;
    case EventKind::kFds:
      absl::StrAppend(&line, Paint(options, kBold, "DESCRIPTORS"), " ",
                      event.fds.size(), " at byte ", event.offset, ", ",
                      event.text, ":");
      for (size_t i = 0; i < event.fds.size(); ++i) {
        absl::StrAppend(&line, i == 0 ? " " : "; ", "[", i, "] ", event.fds[i]);
      }
      break;
  }
  line.push_back('\n');
  return line;
}

std::string JsonLine(const InspectEvent& event) {
  std::string line = absl::StrCat(
      "{\"time\":",
      JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", event.time,
                                 absl::UTCTimeZone())),
      ",\"conn\":", event.connection, ",\"event\":\"", KindName(event.kind),
      "\"");
  if (event.kind != EventKind::kOpen) {
    absl::StrAppend(&line, ",\"from\":\"", DirectionSender(event.direction),
                    "\",\"offset\":", event.offset);
  }
  if (event.has_header) {
    absl::StrAppend(&line, ",\"type\":",
                    JsonQuote(FrameTypeName(event.header.type)),
                    ",\"type_code\":", event.header.type,
                    ",\"stream\":", event.header.stream_id,
                    ",\"flags\":", event.header.flags,
                    ",\"length\":", event.header.length);
    std::string flags = FlagNames(event.header.type, event.header.flags);
    if (!flags.empty()) absl::StrAppend(&line, ",\"flag_names\":",
                                        JsonQuote(flags));
  }
  if (!event.method.empty()) {
    absl::StrAppend(&line, ",\"method\":", JsonQuote(event.method));
  }
  if (!event.message_type.empty()) {
    absl::StrAppend(&line, ",\"message_type\":", JsonQuote(event.message_type));
  }
  if (!event.json.empty()) absl::StrAppend(&line, ",\"message\":", event.json);
  if (!event.error.empty()) {
    absl::StrAppend(&line, ",\"error\":", JsonQuote(event.error));
  }
  if (!event.raw_fields.empty()) {
    absl::StrAppend(&line, ",\"raw\":", JsonQuote(event.raw_fields));
  }
  if (event.bytes_total > 0) {
    absl::StrAppend(&line, ",\"hex\":", JsonQuote(LowerHex(event.bytes)),
                    ",\"bytes_total\":", event.bytes_total);
  }
  if (event.payload_skipped) absl::StrAppend(&line, ",\"payload_skipped\":true");
  if (!event.text.empty()) {
    absl::StrAppend(&line, ",\"text\":", JsonQuote(event.text));
  }
  if (event.kind == EventKind::kFds) {
    absl::StrAppend(&line, ",\"fds\":[");
    for (size_t i = 0; i < event.fds.size(); ++i) {
      absl::StrAppend(&line, i == 0 ? "" : ",", JsonQuote(event.fds[i]));
    }
    line.append("]");
  }
  line.append("}\n");
  return line;
}

}  // namespace

const char* DirectionArrow(Direction direction) {
  return direction == Direction::kClientToServer ? "C->S" : "S->C";
}

const char* DirectionSender(Direction direction) {
  return direction == Direction::kClientToServer ? "client" : "server";
}

std::string FlagNames(uint8_t type, uint8_t flags) {
  std::string names;
  if ((flags & 0x01) != 0) {
    switch (static_cast<FrameType>(type)) {
      case FrameType::kHeaders:
      case FrameType::kMessage:
        names = "END_STREAM";
        break;
      case FrameType::kPing:
        names = "ACK";
        break;
      default:
        names = "0x01";
        break;
    }
  }
  const uint8_t others = flags & ~uint8_t{0x01};
  if (others != 0) {
    if (!names.empty()) names.append("|");
    absl::StrAppendFormat(&names, "0x%02x", others);
  }
  return names;
}

std::string FormatEvent(const InspectEvent& event,
                        const PrintOptions& options) {
  return options.json ? JsonLine(event) : TextLine(event, options);
}

}  // namespace cli
}  // namespace sockrpc
