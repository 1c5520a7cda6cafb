// Internal to protoc-gen-sockrpc: helpers that lay out generated C++ the way
// a careful person would write it (80 columns, wrapped signatures, comments
// carried over from the .proto).
#ifndef SOCKRPC_TOOLS_PROTOC_PLUGIN_PRINTING_H_
#define SOCKRPC_TOOLS_PROTOC_PLUGIN_PRINTING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/printer.h"

namespace sockrpc::generator {

// The column limit of generated code.
inline constexpr int kMaxColumns = 80;

// LeadingComments returns the comment written just before `descriptor` in
// its .proto file as lines of text without the comment markers, or no lines
// if there is none (or protoc passed no source info).
template <typename DescriptorT>
std::vector<std::string> LeadingComments(const DescriptorT* descriptor);

// CommentLines turns the text of a .proto comment into lines of text.
std::vector<std::string> CommentLines(const std::string& comment_text);

// PrintComment prints `lines` as "//" comments at the printer's indentation.
void PrintComment(const std::vector<std::string>& lines,
                  google::protobuf::io::Printer* printer);

// WrapComment fills the words of `text` into comment lines that fit
// kMaxColumns when printed as "// " comments at `indent` columns; "\n\n" in
// `text` starts a new paragraph (an empty comment line between the two).
std::vector<std::string> WrapComment(absl::string_view text, int indent);

// PrintLines prints `text` (lines separated by "\n") verbatim at the
// printer's indentation, followed by a newline.
void PrintLines(absl::string_view text, google::protobuf::io::Printer* printer);

// WrapSignature joins `head` (up to and including the opening parenthesis),
// the comma-separated `params` and `tail` (from the closing parenthesis on)
// into lines that fit kMaxColumns when printed at `indent` columns:
// everything on one line if it fits, else the parameters aligned after the
// parenthesis, else on continuation lines indented four more columns. A
// parameter too long for a line of its own is wrapped as WrapType does.
std::string WrapSignature(absl::string_view head,
                          const std::vector<std::string>& params,
                          absl::string_view tail, int indent);

// PrintBanner prints the comment that opens every generated file.
void PrintBanner(const google::protobuf::FileDescriptor* file,
                 google::protobuf::io::Printer* printer);

// PrintHeaderOpen prints what opens the generated header `header_name`:
// the banner, `description` (if not empty) wrapped as more of its comment,
// and the include guard. PrintHeaderClose closes the guard.
void PrintHeaderOpen(const google::protobuf::FileDescriptor* file,
                     absl::string_view header_name,
                     absl::string_view description,
                     google::protobuf::io::Printer* printer);
void PrintHeaderClose(absl::string_view header_name,
                      google::protobuf::io::Printer* printer);

// PrintNamespaceOpen and PrintNamespaceClose print the lines that open and
// close the C++ namespace of `file`'s package (nothing without a package).
void PrintNamespaceOpen(const google::protobuf::FileDescriptor* file,
                        google::protobuf::io::Printer* printer);
void PrintNamespaceClose(const google::protobuf::FileDescriptor* file,
                         google::protobuf::io::Printer* printer);

// PrintServices prints, inside `file`'s namespace, what `emit` prints for
// each of its services, with a blank line between two.
void PrintServices(
    const google::protobuf::FileDescriptor* file,
    const std::function<void(const google::protobuf::ServiceDescriptor*)>& emit,
    google::protobuf::io::Printer* printer);

// WrapType joins `prefix`, the type `type` and `suffix` into lines that fit
// kMaxColumns when printed at `indent` columns: on one line if they fit,
// else with the template arguments of `type` aligned after its "<"
// ("Name<A, B>", whose arguments hold no commas of their own).
std::string WrapType(absl::string_view prefix, absl::string_view type,
                     absl::string_view suffix, int indent);

// WrapFunction is WrapSignature for a function's declaration or definition
// whose head is `return_type` and `head`: if the two do not fit on one
// line, the return type gets a line (or, wrapped by WrapType, lines) of its
// own.
std::string WrapFunction(absl::string_view return_type, absl::string_view head,
                         const std::vector<std::string>& params,
                         absl::string_view tail, int indent);

// ---- Implementation details below ----

template <typename DescriptorT>
std::vector<std::string> LeadingComments(const DescriptorT* descriptor) {
  google::protobuf::SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return {};
  return CommentLines(location.leading_comments);
}

}  // namespace sockrpc::generator

#endif  // SOCKRPC_TOOLS_PROTOC_PLUGIN_PRINTING_H_
