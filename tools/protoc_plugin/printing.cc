#include "tools/protoc_plugin/printing.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/printer.h"
#include "tools/protoc_plugin/names.h"

namespace sockrpc::generator {
namespace {

// Lays out `prefix`, `type` and `suffix` as lines of at most `width`
// columns: one line if it fits, else with the template arguments of `type`
// (a name<A, B> whose arguments hold no commas of their own, as the types
// the generator writes) aligned after its "<", else one to a line, indented
// four columns more than `prefix`. Returns false if some line is still too
// long.
bool WrapTemplate(absl::string_view prefix, absl::string_view type,
                  absl::string_view suffix, int width,
                  std::vector<std::string>* lines) {
  std::string one_line = absl::StrCat(prefix, type, suffix);
  const size_t open = type.find('<');
  const size_t close = type.rfind('>');
  if (one_line.size() <= static_cast<size_t>(width) ||
      open == absl::string_view::npos || close == absl::string_view::npos ||
      close < open) {
    const bool fits = one_line.size() <= static_cast<size_t>(width);
    lines->push_back(std::move(one_line));
    return fits;
  }
  const std::string head = absl::StrCat(prefix, type.substr(0, open + 1));
  const std::vector<std::string> args =
      absl::StrSplit(type.substr(open + 1, close - open - 1), ", ");
  const std::string end = absl::StrCat(type.substr(close), suffix);
  // The arguments one to a line, the first after `first`, the others after
  // `rest`.
  auto one_per_line = [&](const std::string& first, const std::string& rest,
                          std::vector<std::string>* out) {
    bool fits = true;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string line = absl::StrCat(i == 0 ? first : rest, args[i],
                                      i + 1 == args.size() ? end : ",");
      if (line.size() > static_cast<size_t>(width)) fits = false;
      out->push_back(std::move(line));
    }
    return fits;
  };
  std::vector<std::string> aligned;
  if (one_per_line(head, std::string(head.size(), ' '), &aligned)) {
    for (std::string& line : aligned) lines->push_back(std::move(line));
    return true;
  }
  const size_t prefix_indent = prefix.find_first_not_of(' ');
  const std::string indent(
      (prefix_indent == absl::string_view::npos ? prefix.size()
                                                : prefix_indent) +
          4,
      ' ');
  lines->push_back(head);
  std::vector<std::string> broken;
  const bool fits = one_per_line(indent, indent, &broken);
  for (std::string& line : broken) lines->push_back(std::move(line));
  return fits;
}

// Packs `params` greedily onto lines: the first line starts with
// `first_prefix`, the others with `next_prefix`; every line but the last
// ends with ",", the last with `tail`. A parameter too long for a line of
// its own has its template arguments wrapped. Returns false if some line
// would not fit `width` columns (the lines are filled in regardless).
bool PackParams(absl::string_view first_prefix, absl::string_view next_prefix,
                const std::vector<std::string>& params, absl::string_view tail,
                int width, std::vector<std::string>* lines) {
  bool fits = true;
  std::string line(first_prefix);
  bool line_has_param = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const bool last = i + 1 == params.size();
    const size_t ending = last ? tail.size() : 1;     // tail or ","
    const size_t separator = line_has_param ? 2 : 0;  // ", " before it
    if (line_has_param && line.size() + separator + params[i].size() + ending >
                              static_cast<size_t>(width)) {
      lines->push_back(absl::StrCat(line, ","));
      line = std::string(next_prefix);
      line_has_param = false;
    }
    if (!line_has_param &&
        line.size() + params[i].size() + ending > static_cast<size_t>(width)) {
      // Alone on its line and still too long: wrap the parameter itself.
      std::vector<std::string> wrapped;
      if (!WrapTemplate(line, params[i], last ? tail : "",
                        width - (last ? 0 : 1), &wrapped)) {
        fits = false;
      }
      line = wrapped.back();
      wrapped.pop_back();
      for (std::string& done : wrapped) lines->push_back(std::move(done));
      line_has_param = true;
      continue;
    }
    absl::StrAppend(&line, line_has_param ? ", " : "", params[i]);
    line_has_param = true;
    if (last) absl::StrAppend(&line, tail);
    if (line.size() + (last ? 0 : 1) > static_cast<size_t>(width)) {
      fits = false;
    }
  }
  if (params.empty()) absl::StrAppend(&line, tail);
  lines->push_back(line);
  return fits;
}

}  // namespace

std::vector<std::string> CommentLines(const std::string& comment_text) {
  std::vector<std::string> lines = absl::StrSplit(comment_text, '\n');
  for (std::string& line : lines) {
    absl::StripTrailingAsciiWhitespace(&line);
    // A "//" comment ending in a backslash would swallow the next line.
    if (!line.empty() && line.back() == '\\') line.push_back('.');
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<std::string> WrapComment(absl::string_view text, int indent) {
  const size_t width = kMaxColumns - indent - 3;  // 3 for "// "
  std::vector<std::string> lines;
  for (absl::string_view paragraph : absl::StrSplit(text, "\n\n")) {
    if (!lines.empty()) lines.emplace_back();
    std::string line;
    for (absl::string_view word :
         absl::StrSplit(paragraph, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        lines.push_back(absl::StrCat(" ", line));
        line.clear();
      }
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
    if (!line.empty()) lines.push_back(absl::StrCat(" ", line));
  }
  return lines;
}

void PrintComment(const std::vector<std::string>& lines,
                  google::protobuf::io::Printer* printer) {
  for (const std::string& line : lines) {
    // Lines of a .proto comment usually start with the space that followed
    // its "//"; one that does not gets one, so the text stays readable.
    const bool needs_space = !line.empty() && line.front() != ' ';
    printer->Print("$comment$\n", "comment",
                   absl::StrCat("//", needs_space ? " " : "", line));
  }
}

void PrintLines(absl::string_view text,
                google::protobuf::io::Printer* printer) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    printer->Print("$line$\n", "line", std::string(line));
  }
}

std::string WrapSignature(absl::string_view head,
                          const std::vector<std::string>& params,
                          absl::string_view tail, int indent) {
  const int width = kMaxColumns - indent;
  const std::string one_line =
      absl::StrCat(head, absl::StrJoin(params, ", "), tail);
  if (one_line.size() <= static_cast<size_t>(width)) return one_line;

  // Parameters aligned after the opening parenthesis.
  std::vector<std::string> lines;
  if (PackParams(head, std::string(head.size(), ' '), params, tail, width,
                 &lines)) {
    return absl::StrJoin(lines, "\n");
  }
  // Parameters on continuation lines.
  lines.clear();
  lines.push_back(std::string(head));
  PackParams("    ", "    ", params, tail, width, &lines);
  return absl::StrJoin(lines, "\n");
}

std::string WrapType(absl::string_view prefix, absl::string_view type,
                     absl::string_view suffix, int indent) {
  std::vector<std::string> lines;
  WrapTemplate(prefix, type, suffix, kMaxColumns - indent, &lines);
  return absl::StrJoin(lines, "\n");
}

std::string WrapFunction(absl::string_view return_type, absl::string_view head,
                         const std::vector<std::string>& params,
                         absl::string_view tail, int indent) {
  const std::string joined = absl::StrCat(return_type, " ", head);
  // Without parameters, `tail` must fit on the same line.
  const size_t first_line = joined.size() + (params.empty() ? tail.size() : 0);
  if (first_line <= static_cast<size_t>(kMaxColumns - indent)) {
    return WrapSignature(joined, params, tail, indent);
  }
  return absl::StrCat(WrapType("", return_type, "", indent), "\n",
                      WrapSignature(head, params, tail, indent));
}

void PrintBanner(const google::protobuf::FileDescriptor* file,
                 google::protobuf::io::Printer* printer) {
  printer->Print(
      "// Generated by protoc-gen-sockrpc. DO NOT EDIT!\n"
      "// source: $source$\n",
      "source", file->name());
}

void PrintHeaderOpen(const google::protobuf::FileDescriptor* file,
                     absl::string_view header_name,
                     absl::string_view description,
                     google::protobuf::io::Printer* printer) {
  PrintBanner(file, printer);
  if (!description.empty()) {
    printer->Print("//\n");
    PrintComment(WrapComment(description, 0), printer);
  }
  printer->Print("\n#ifndef $guard$\n#define $guard$\n\n", "guard",
                 HeaderGuard(header_name));
}

void PrintHeaderClose(absl::string_view header_name,
                      google::protobuf::io::Printer* printer) {
  printer->Print("\n#endif  // $guard$\n", "guard", HeaderGuard(header_name));
}

void PrintNamespaceOpen(const google::protobuf::FileDescriptor* file,
                        google::protobuf::io::Printer* printer) {
  const std::string ns = CppNamespace(file);
  if (!ns.empty()) printer->Print("namespace $ns$ {\n\n", "ns", ns);
}

void PrintNamespaceClose(const google::protobuf::FileDescriptor* file,
                         google::protobuf::io::Printer* printer) {
  const std::string ns = CppNamespace(file);
  if (!ns.empty()) printer->Print("}  // namespace $ns$\n", "ns", ns);
}

void PrintServices(
    const google::protobuf::FileDescriptor* file,
    const std::function<void(const google::protobuf::ServiceDescriptor*)>& emit,
    google::protobuf::io::Printer* printer) {
  PrintNamespaceOpen(file, printer);
  for (int i = 0; i < file->service_count(); ++i) {
    if (i > 0) printer->Print("\n");
    emit(file->service(i));
  }
  if (!CppNamespace(file).empty()) printer->Print("\n");
  PrintNamespaceClose(file, printer);
}

}  // namespace sockrpc::generator
