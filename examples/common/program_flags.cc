#include "examples/common/program_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sockrpc/version.h"

namespace sockrpc {
namespace examples {
namespace {

// Flags whose source lies in Abseil (--flagfile, --fromenv, ...) are not
// the program's; they still work, but --help does not list them.
bool IsAbseilFlag(const absl::CommandLineFlag& flag) {
  return flag.Filename().find("absl/") != std::string::npos;
}

// Appends `text` to `*out` wrapped at 78 columns, each line indented by
// `indent` spaces.
void AppendWrapped(absl::string_view text, int indent, std::string* out) {
  constexpr size_t kWidth = 78;
  const std::string margin(indent, ' ');
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    std::string line = margin;
    for (absl::string_view word :
         absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (line.size() > margin.size() &&
          line.size() + 1 + word.size() > kWidth) {
        absl::StrAppend(out, line, "\n");
        line = margin;
      }
      if (line.size() > margin.size()) line += ' ';
      absl::StrAppend(&line, word);
    }
    absl::StrAppend(out, line, "\n");
  }
}

// The program's name: the first word of the usage line.
absl::string_view ProgramName(const ProgramHelp& help) {
  return help.usage.substr(0, help.usage.find(' '));
}

// What argv[i] asks for, up to a "--" that ends the flags.
enum class Request { kNone, kHelp, kVersion };
Request FindRequest(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "-help" ||
        arg == "--helpfull" || arg == "--helpshort") {
      return Request::kHelp;
    }
    if (arg == "--version" || arg == "-version") return Request::kVersion;
  }
  return Request::kNone;
}

}  // namespace

std::string ProgramHelpText(const ProgramHelp& help) {
  std::string out = absl::StrCat("Usage: ", help.usage, "\n\n");
  AppendWrapped(help.description, 0, &out);
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsAbseilFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  absl::StrAppend(&out, "\nOptions:\n");
  for (const absl::CommandLineFlag* flag : flags) {
    const std::string default_value = flag->DefaultValue();
    if (flag->IsOfType<bool>()) {
      absl::StrAppend(&out, "  --", flag->Name(), "  (default: ", default_value,
                      ")\n");
    } else {
      absl::StrAppend(&out, "  --", flag->Name(), "=VALUE  (default: ",
                      default_value.empty() ? "none" : default_value, ")\n");
    }
    AppendWrapped(flag->Help(), 6, &out);
  }
  absl::StrAppend(&out,
                  "  --help\n      print this help and exit\n"
                  "  --version\n      print the version and exit\n");
  return out;
}

std::string ProgramVersionText(const ProgramHelp& help) {
  return absl::StrCat(ProgramName(help), " ", SOCKRPC_VERSION_STRING);
}

std::vector<char*> ParseProgramFlags(int argc, char** argv,
                                     const ProgramHelp& help) {
  switch (FindRequest(argc, argv)) {
    case Request::kHelp:
      std::fputs(ProgramHelpText(help).c_str(), stdout);
      std::exit(0);
    case Request::kVersion:
      std::printf("%s\n", ProgramVersionText(help).c_str());
      std::exit(0);
    case Request::kNone:
      break;
  }
  absl::SetProgramUsageMessage(
      absl::StrCat("Usage: ", help.usage, "\nTry --help."));
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace examples
}  // namespace sockrpc
