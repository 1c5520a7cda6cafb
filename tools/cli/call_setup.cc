#include "tools/cli/call_setup.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/cli/json_io.h"

namespace sockrpc {
namespace cli {

std::optional<int> ParseMethodArguments(ArgParser& parser, int argc,
                                        char** argv,
                                        MethodArguments* arguments) {
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return exit_code;
  }
  if (args.size() < 2) return parser.UsageError("expected ADDR METHOD");
  if (args.size() > 3) return parser.UsageError("too many arguments");
  arguments->address = args[0];
  arguments->method = args[1];
  if (args.size() == 3) arguments->request = args[2];
  return std::nullopt;
}

std::optional<int> ResolveMethodTarget(const ArgParser& parser,
                                       const CommonOptions& common,
                                       const MethodArguments& arguments,
                                       MethodTarget* target) {
  const std::string& address = arguments.address;
  absl::StatusOr<CallSettings> settings = MakeCallSettings(common, address);
  if (!settings.ok()) return parser.UsageError(settings.status().message());
  target->settings = *std::move(settings);
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(address, target->settings.channel_options());
  if (!channel.ok()) return parser.UsageError(channel.status().message());
  target->channel = *std::move(channel);

  absl::StatusOr<std::unique_ptr<Schema>> schema =
      LoadSchema(target->settings.schema);
  if (!schema.ok()) return ReportFailure(schema.status());
  target->schema = *std::move(schema);
  absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
      target->schema->FindMethod(arguments.method);
  if (!method.ok()) {
    if (absl::IsInvalidArgument(method.status())) {
      return parser.UsageError(method.status().message());
    }
    return ReportFailure(method.status());
  }
  target->method = *method;
  target->wire_name = absl::StrCat("/", (*method)->service()->full_name(), "/",
                                   (*method)->name());
  return std::nullopt;
}

std::optional<int> TakeDataOption(const ArgParser& parser,
                                  const std::string& data,
                                  MethodArguments* arguments) {
  if (data.empty()) return std::nullopt;
  if (arguments->request.has_value()) {
    return parser.UsageError(
        "give the request either with -d or as the REQUEST argument");
  }
  arguments->request = data == "@" ? "-" : data;
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ReadSingleRequest(
    const MethodTarget& target, const std::optional<std::string>& given,
    MessageFormat format) {
  std::string text = given.value_or(format == MessageFormat::kJson ? "{}" : "");
  if (text == "-") {
    absl::StatusOr<std::string> from_stdin = ReadStdin();
    if (!from_stdin.ok()) {
      // Not INVALID_ARGUMENT, which would make it a usage error.
      return absl::UnavailableError(absl::StrCat(
          "cannot read the request from standard input: ",
          from_stdin.status().message()));
    }
    text = *std::move(from_stdin);
  }
  std::unique_ptr<google::protobuf::Message> request =
      target.schema->NewMessage(target.method->input_type());
  absl::Status parsed = ParseMessage(format, text, request.get());
  if (!parsed.ok()) return parsed;
  return request;
}

}  // namespace cli
}  // namespace sockrpc
