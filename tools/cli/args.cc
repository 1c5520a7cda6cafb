#include "tools/cli/args.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sockrpc {
namespace cli {
namespace {

// Appends `text` to `out`, each of its lines wrapped at about 78 columns
// and indented by `indent` spaces.
void AppendWrapped(absl::string_view text, size_t indent, std::string* out) {
  constexpr size_t kWidth = 78;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    size_t column = 0;
    for (absl::string_view word :
         absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      if (column > 0 && column + 1 + word.size() > kWidth) {
        out->append("\n");
        column = 0;
      }
      if (column == 0) {
        out->append(indent, ' ');
        column = indent;
      } else {
        out->append(" ");
        ++column;
      }
      absl::StrAppend(out, word);
      column += word.size();
    }
    out->append("\n");
  }
}

}  // namespace

ArgParser::ArgParser(std::string command, std::string synopsis,
                     std::string about)
    : command_(std::move(command)),
      synopsis_(std::move(synopsis)),
      about_(std::move(about)) {
  options_.push_back(Option{
      {"-h", "--help"}, "", "print this help and exit", Kind::kBool, nullptr});
}

void ArgParser::AddString(std::vector<std::string> names,
                          std::string value_name, std::string help,
                          std::string* value) {
  options_.push_back(Option{std::move(names), std::move(value_name),
                            std::move(help), Kind::kString, value});
}

void ArgParser::AddList(std::vector<std::string> names, std::string value_name,
                        std::string help, std::vector<std::string>* values) {
  options_.push_back(Option{std::move(names), std::move(value_name),
                            std::move(help), Kind::kList, values});
}

void ArgParser::AddBool(std::vector<std::string> names, std::string help,
                        bool* value) {
  options_.push_back(
      Option{std::move(names), "", std::move(help), Kind::kBool, value});
}

void ArgParser::AddNotes(std::string text) { notes_ = std::move(text); }

const ArgParser::Option* ArgParser::Find(absl::string_view name) const {
  // A long option may be typed with underscores: --emit_defaults is
  // --emit-defaults.
  std::string spelled(name);
  if (absl::StartsWith(spelled, "--")) {
    std::replace(spelled.begin() + 2, spelled.end(), '_', '-');
  }
  for (const Option& option : options_) {
    for (const std::string& candidate : option.names) {
      if (candidate == spelled) return &option;
    }
  }
  return nullptr;
}

bool ArgParser::Store(const Option& option, absl::string_view name,
                      absl::string_view value) {
  switch (option.kind) {
    case Kind::kString:
      *static_cast<std::string*>(option.target) = std::string(value);
      return true;
    case Kind::kList:
      static_cast<std::vector<std::string>*>(option.target)
          ->push_back(std::string(value));
      return true;
    case Kind::kBool:
      if (value == "true" || value == "1") {
        *static_cast<bool*>(option.target) = true;
        return true;
      }
      if (value == "false" || value == "0") {
        *static_cast<bool*>(option.target) = false;
        return true;
      }
      UsageError(
          absl::StrCat(name, " takes true or false, not \"", value, "\""));
      return false;
  }
  return false;
}

std::optional<int> ArgParser::Parse(int argc, char** argv,
                                    std::vector<std::string>* arguments) {
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      arguments->push_back(std::string(arg));
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    // Split "--name=value" and "-Xvalue" into a name and an inline value.
    absl::string_view name = arg;
    std::optional<absl::string_view> inline_value;
    if (absl::StartsWith(arg, "--")) {
      size_t equals = arg.find('=');
      if (equals != absl::string_view::npos) {
        name = arg.substr(0, equals);
        inline_value = arg.substr(equals + 1);
      }
    } else if (arg.size() > 2) {
      name = arg.substr(0, 2);
      inline_value = arg.substr(2);
    }
    const Option* option = Find(name);
    if (option == nullptr) {
      return UsageError(absl::StrCat("unknown option ", name));
    }
    if (option->target == nullptr) {  // --help
      std::fputs(Help().c_str(), stdout);
      return 0;
    }
    if (option->kind == Kind::kBool) {
      if (!Store(*option, name, inline_value.value_or("true"))) return 2;
      continue;
    }
    if (!inline_value.has_value()) {
      if (i + 1 >= argc) {
        return UsageError(
            absl::StrCat(name, " needs a value (", option->value_name, ")"));
      }
      inline_value = argv[++i];
    }
    if (!Store(*option, name, *inline_value)) return 2;
  }
  return std::nullopt;
}

int ArgParser::UsageError(absl::string_view message) const {
  std::string text = absl::StrCat(
      "sockrpc ", command_, ": ", message, "\nUsage: sockrpc ", synopsis_,
      "\nRun 'sockrpc ", command_, " --help' for more.\n");
  std::fputs(text.c_str(), stderr);
  return 2;
}

std::string ArgParser::Help() const {
  std::string text = absl::StrCat("Usage: sockrpc ", synopsis_, "\n\n");
  AppendWrapped(about_, 0, &text);
  text.append("\nOptions:\n");
  for (const Option& option : options_) {
    absl::StrAppend(&text, "  ", absl::StrJoin(option.names, ", "));
    if (!option.value_name.empty()) {
      absl::StrAppend(&text, " ", option.value_name);
    }
    if (option.kind == Kind::kList) text.append("  (repeatable)");
    text.append("\n");
    AppendWrapped(option.help, 6, &text);
  }
  AppendWrapped(
      "Long options may also be written with underscores (--emit_defaults "
      "for --emit-defaults), and --name=value for --name value.",
      2, &text);
  if (!notes_.empty()) absl::StrAppend(&text, "\n", notes_, "\n");
  return text;
}

}  // namespace cli
}  // namespace sockrpc
