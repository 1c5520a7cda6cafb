#include "tools/cli/message_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "tools/cli/json_io.h"

namespace sockrpc {
namespace cli {
namespace {

// Collects the text-format parser's complaints as "line:column: message".
class TextErrors final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    absl::StrAppend(&text_, line + 1, ":", column + 1, ": ", message);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

absl::StatusOr<MessageFormat> ParseMessageFormat(absl::string_view name) {
  if (name == "json") return MessageFormat::kJson;
  if (name == "text") return MessageFormat::kText;
  return absl::InvalidArgumentError(
      absl::StrCat("--format takes json or text, not \"", name, "\""));
}

absl::Status ParseMessage(MessageFormat format, absl::string_view text,
                          google::protobuf::Message* message) {
  if (format == MessageFormat::kJson) return ParseJson(text, message);
  TextErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a ", message->GetDescriptor()->full_name(),
                     " in protobuf text format: ", errors.text()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PrintMessage(
    MessageFormat format, const google::protobuf::Message& message,
    bool emit_defaults) {
  if (format == MessageFormat::kJson) return ToJson(message, emit_defaults);
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string text;
  if (!printer.PrintToString(message, &text)) {
    return absl::InternalError(absl::StrCat(
        "cannot print a ", message.GetDescriptor()->full_name(), " as text"));
  }
  return std::string(absl::StripTrailingAsciiWhitespace(text));
}

}  // namespace cli
}  // namespace sockrpc
