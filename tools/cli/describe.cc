// sockrpc describe: one symbol of a schema (service, method, message,
// enum, field or enum value) printed as .proto text.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {
namespace {

using google::protobuf::DescriptorPool;

// Comments from the .proto source are printed when the schema has them
// (--proto); descriptors from reflection or a protoset carry none.
google::protobuf::DebugStringOptions TextOptions() {
  google::protobuf::DebugStringOptions options;
  options.include_comments = true;
  return options;
}

// "// KIND NAME (from FILE)\nTEXT".
template <typename Descriptor>
std::string Section(absl::string_view kind, const Descriptor& descriptor) {
  return absl::StrCat("// ", kind, " ", descriptor.full_name(), " (from ",
                      descriptor.file()->name(), ")\n",
                      descriptor.DebugStringWithOptions(TextOptions()));
}

// The text for `symbol`, or nullopt if the pool has no such symbol.
std::optional<std::string> DescribeSymbol(const Schema& schema,
                                          absl::string_view symbol) {
  const DescriptorPool& pool = *schema.pool();
  const std::string name(symbol);
  if (const auto* service = pool.FindServiceByName(name)) {
    return Section("service", *service);
  }
  const google::protobuf::MethodDescriptor* method = nullptr;
  if (absl::StrContains(symbol, '/')) {
    absl::StatusOr<const google::protobuf::MethodDescriptor*> found =
        schema.FindMethod(symbol);
    if (found.ok()) method = *found;
  } else {
    method = pool.FindMethodByName(name);
  }
  if (method != nullptr) {
    // The method, then the messages a call of it sends and receives.
    return absl::StrCat("// method ", method->full_name(), " (from ",
                        method->file()->name(), ")\n",
                        method->DebugStringWithOptions(TextOptions()), "\n",
                        Section("request", *method->input_type()), "\n",
                        Section("reply", *method->output_type()));
  }
  if (const auto* message = pool.FindMessageTypeByName(name)) {
    return Section("message", *message);
  }
  if (const auto* enum_type = pool.FindEnumTypeByName(name)) {
    return Section("enum", *enum_type);
  }
  if (const auto* field = pool.FindFieldByName(name)) {
    return Section("field", *field);
  }
  if (const auto* extension = pool.FindExtensionByName(name)) {
    return Section("extension", *extension);
  }
  if (const auto* value = pool.FindEnumValueByName(name)) {
    return Section("enum value", *value);
  }
  return std::nullopt;
}

}  // namespace

int RunDescribe(int argc, char** argv) {
  ArgParser parser(
      "describe", "describe [OPTIONS] ADDR [SYMBOL]",
      "Prints the definition of SYMBOL as .proto text; without SYMBOL, of "
      "every service (as grpcurl's describe). SYMBOL is a fully "
      "qualified name of a service (increment.Increment), a method "
      "(increment.Increment.Increment or increment.Increment/Increment; its "
      "request and reply messages are printed too), a message, an enum, a "
      "field or an enum value. The definitions come from the server at ADDR "
      "through its reflection service, or from --proto or --protoset (then "
      "ADDR may be left out: the server is not contacted).");
  CommonOptions common;
  AddCommonOptions(&parser, &common);
  parser.AddNotes(
      "Examples:\n"
      "  sockrpc describe unix:/tmp/server.sock increment.Increment\n"
      "  sockrpc describe unix:/tmp/server.sock increment.IncrementRequest\n"
      "  sockrpc describe --protoset increment.protoset "
      "increment.Increment/Increment");
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  const bool from_files =
      !common.proto_files.empty() || !common.protoset.empty();
  std::string address;
  std::string symbol;
  if (args.size() == 2) {
    address = args[0];
    symbol = args[1];
  } else if (args.size() == 1 && from_files && !LooksLikeAddress(args[0])) {
    symbol = args[0];
  } else if (args.size() == 1) {
    address = args[0];
  } else if (args.size() > 2) {
    return parser.UsageError("too many arguments");
  }
  if (address.empty() && !from_files) {
    return parser.UsageError("expected ADDR [SYMBOL]");
  }
  absl::StatusOr<CallSettings> settings = MakeCallSettings(common, address);
  if (!settings.ok()) return parser.UsageError(settings.status().message());

  absl::StatusOr<std::unique_ptr<Schema>> schema = LoadSchema(settings->schema);
  if (!schema.ok()) return ReportFailure(schema.status());
  if (symbol.empty()) {
    // Every service, as grpcurl's describe without a symbol.
    std::vector<const google::protobuf::ServiceDescriptor*> services =
        (*schema)->Services();
    std::sort(services.begin(), services.end(),
              [](const auto* a, const auto* b) {
                return a->full_name() < b->full_name();
              });
    std::string text;
    for (const auto* service : services) {
      absl::StrAppend(&text, text.empty() ? "" : "\n",
                      Section("service", *service));
    }
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  absl::string_view name = symbol;
  absl::ConsumePrefix(&name, ".");
  std::optional<std::string> text = DescribeSymbol(**schema, name);
  if (!text.has_value()) {
    return ReportFailure(absl::NotFoundError(
        absl::StrCat("no symbol ", name, " in the schema")));
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

}  // namespace cli
}  // namespace sockrpc
