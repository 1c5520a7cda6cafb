// sockrpc call: calls one method of a server with requests written in
// JSON, and prints the replies as JSON, one per line.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/client_call.h"
#include "client/client_context.h"
#include "tools/cli/args.h"
#include "tools/cli/call_setup.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"
#include "tools/cli/fd_description.h"
#include "tools/cli/json_io.h"
#include "tools/cli/message_format.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// A call that ended with a status other than OK exits with this plus the
// status code (as grpcurl does): 64 + 14 = 78 for UNAVAILABLE.
constexpr int kCallFailedExitBase = 64;

// How to run one call, from the command line.
struct CallPlan {
  const MethodDescriptor* method = nullptr;
  std::optional<std::string> request;  // the REQUEST argument, if given
  bool emit_defaults = false;
  bool verbose = false;
  MessageFormat format = MessageFormat::kJson;
  // Descriptors to send with the (first) request, indexes 0, 1, ... in
  // this order: the --fd ones, then the --file ones.
  std::vector<Fd> fds;
};

void PrintLine(const std::string& line) {
  std::string text = line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Prints metadata to stderr for --verbose, a -bin value in base64, or
// "LABEL: (none)" if the server sent none.
void PrintMetadata(absl::string_view label, const Metadata& metadata) {
  if (metadata.empty()) {
    std::string line = absl::StrCat(label, ": (none)\n");
    std::fputs(line.c_str(), stderr);
  }
  for (const auto& [key, value] : metadata) {
    std::string shown =
        absl::EndsWith(key, "-bin") ? absl::Base64Escape(value) : value;
    std::string line = absl::StrCat(label, " ", key, ": ", shown, "\n");
    std::fputs(line.c_str(), stderr);
  }
}

// Prints, on standard error, the descriptors that came with the reply
// read last (none usually), and closes them.
void PrintReplyFds(ClientContext* context) {
  for (uint32_t index = 0;; ++index) {
    FileDescriptor field;
    field.set_index(index);
    absl::StatusOr<Fd> fd = context->TakeFd(field);
    if (absl::IsInvalidArgument(fd.status())) return;  // no more
    const std::string line = absl::StrCat(
        "file descriptor ", index, ": ",
        fd.ok() ? DescribeFd(fd->get()) : "named by no field (closed)", "\n");
    std::fputs(line.c_str(), stderr);
  }
}

// Reads every reply of `call` and prints it as a JSON line, and what
// descriptors came with it on standard error. Returns a failure to print
// (the call's own status comes from Finish()).
absl::Status PrintReplies(const Schema& schema, const CallPlan& plan,
                          ClientContext* context, ClientCall* call) {
  for (;;) {
    std::unique_ptr<Message> reply =
        schema.NewMessage(plan.method->output_type());
    if (!call->Read(reply.get())) return absl::OkStatus();
    absl::StatusOr<std::string> json =
        PrintMessage(plan.format, *reply, plan.emit_defaults);
    if (!json.ok()) {
      call->Cancel();
      return json.status();
    }
    PrintLine(*json);
    PrintReplyFds(context);
  }
}

// Writes the request stream of a client- or bidi-streaming call, one JSON
// object per line of `lines`, then half-closes. Runs on its own thread
// while the caller reads replies. On a line that does not parse, cancels
// the call and stores the error in *error.
void WriteRequests(const Schema& schema, const CallPlan& plan,
                   RequestLines* lines, ClientCall* call, absl::Status* error) {
  std::string line;
  int number = 0;
  while (lines->Next(&line, &number)) {
    std::unique_ptr<Message> request =
        schema.NewMessage(plan.method->input_type());
    absl::Status parsed = ParseMessage(plan.format, line, request.get());
    if (!parsed.ok()) {
      *error = absl::InvalidArgumentError(
          absl::StrCat("request line ", number, ": ", parsed.message()));
      call->Cancel();
      return;
    }
    if (!call->Write(*request)) return;  // the call has ended
  }
  call->WritesDone();
}

// Runs the call and returns the exit code.
int Call(const MethodTarget& target, const CallPlan& plan) {
  const Schema& schema = *target.schema;
  const std::string& wire_name = target.wire_name;
  Channel* channel = target.channel.get();
  ClientContext context;
  target.settings.Apply(&context);
  // They go with the request, or a stream's first one.
  for (const Fd& fd : plan.fds) {
    Fd copy(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!copy.valid()) {
      return ReportFailure(absl::InternalError("cannot duplicate a --fd"));
    }
    context.AttachFd(std::move(copy));
  }
  std::unique_ptr<ClientCall> call;
  absl::Status local_error;

  if (!plan.method->client_streaming()) {
    // One request: the REQUEST argument, all of standard input for "-",
    // or an empty message.
    absl::StatusOr<std::unique_ptr<Message>> request =
        ReadSingleRequest(target, plan.request, plan.format);
    if (absl::IsInvalidArgument(request.status())) {
      std::fprintf(stderr, "sockrpc call: request: %s\n",
                   std::string(request.status().message()).c_str());
      return 2;
    }
    if (!request.ok()) return ReportFailure(request.status());
    call = channel->StartCall(&context, wire_name, request->get());
    local_error = PrintReplies(schema, plan, &context, call.get());
  } else {
    // A stream of requests, one JSON object per line, written on another
    // thread while this one prints the replies.
    std::unique_ptr<RequestLines> lines;
    if (plan.request.value_or("-") == "-") {
      absl::StatusOr<std::unique_ptr<RequestLines>> from_stdin =
          RequestLines::FromStdin();
      if (!from_stdin.ok()) return ReportFailure(from_stdin.status());
      lines = *std::move(from_stdin);
    } else {
      lines = RequestLines::FromText(*plan.request);
    }
    call = channel->StartCall(&context, wire_name);
    absl::Status input_error;
    std::thread writer(WriteRequests, std::cref(schema), std::cref(plan),
                       lines.get(), call.get(), &input_error);
    local_error = PrintReplies(schema, plan, &context, call.get());
    lines->Stop();  // the call is over: stop waiting for input
    writer.join();
    if (!input_error.ok()) {
      call->Finish().IgnoreError();  // CANCELLED, by WriteRequests
      std::fprintf(stderr, "sockrpc call: %s\n",
                   std::string(input_error.message()).c_str());
      return 2;
    }
  }
  absl::Status status = call->Finish();
  if (plan.verbose) {
    PrintMetadata("initial metadata", context.server_initial_metadata());
    PrintMetadata("trailing metadata", context.server_trailing_metadata());
  }
  if (!local_error.ok()) return ReportFailure(local_error);
  if (!status.ok()) {
    ReportFailure(status);
    return kCallFailedExitBase + static_cast<int>(status.code());
  }
  return 0;
}

}  // namespace

int RunCall(int argc, char** argv) {
  ArgParser parser(
      "call", "call [OPTIONS] ADDR METHOD [REQUEST]",
      "Calls METHOD (package.Service/Method) of the server at ADDR and prints "
      "each reply as one line of JSON (protobuf's JSON mapping) on standard "
      "output.\n\n"
      "REQUEST (or -d REQUEST) is the request in JSON, or - (-d @) to read "
      "it from standard input; without it, an empty request ({}) is sent. "
      "For a client- or bidi-streaming method, REQUEST holds one JSON "
      "object per line, and without it (or with -) the requests are read "
      "from standard input, one per line, each sent as soon as it is "
      "read. --format text reads and prints protobuf's text format "
      "instead.\n\n"
      "The schema comes from the server's reflection service unless --proto "
      "or --protoset gives it. A call that fails prints \"ERROR: CODE: "
      "message\" (CODE as NOT_FOUND, INVALID_ARGUMENT, ...) on standard "
      "error.\n\n"
      "Exit status: 0 if the call succeeded; 64 + the status code if it "
      "ended with another status (as grpcurl: 67 INVALID_ARGUMENT, 68 "
      "DEADLINE_EXCEEDED, 69 NOT_FOUND, 78 UNAVAILABLE when the server "
      "cannot be reached, ...); 1 if it could not be made (no schema, no "
      "such method, a reply that cannot be printed); 2 for a usage error "
      "or a request that is not valid for the method.");
  CommonOptions common;
  AddCommonOptions(&parser, &common);
  CallPlan plan;
  parser.AddBool({"--emit-defaults"},
                 "print fields that hold their default value too",
                 &plan.emit_defaults);
  std::string data;
  parser.AddString({"-d", "--data"}, "REQUEST",
                   "the request, as the REQUEST argument (grpcurl's "
                   "spelling); @ reads it from standard input",
                   &data);
  std::string format = "json";
  parser.AddString({"--format"}, "json|text",
                   "how requests are read and replies printed: protobuf's "
                   "JSON mapping (default) or protobuf's text format, one "
                   "message a line (as grpcurl's -format text)",
                   &format);
  std::vector<std::string> fd_numbers;
  std::vector<std::string> files;
  parser.AddList({"--fd"}, "N",
                 "send this command's open descriptor N with the request "
                 "(unix sockets; docs/PROTOCOL.md section 16): the request "
                 "names it as a sockrpc.FileDescriptor {\"index\": I}, I "
                 "counting the --fd options from 0, then the --file ones",
                 &fd_numbers);
  parser.AddList({"--file"}, "PATH",
                 "open PATH (read-only) and send it with the request, as "
                 "--fd does",
                 &files);
  parser.AddBool({"-v", "--verbose"},
                 "print the reply's initial and trailing metadata on "
                 "standard error (a -bin value in base64; \"(none)\" when "
                 "the server sent none)",
                 &plan.verbose);
  parser.AddNotes(
      "Examples:\n"
      "  sockrpc call unix:/tmp/s.sock increment.Increment/Increment "
      "'{\"character\":\"A\"}'\n"
      "  echo '{\"character\":\"y\"}' | sockrpc call unix:/tmp/s.sock "
      "increment.Increment/Increment -\n"
      "  sockrpc call --file notes.txt unix:/tmp/f.sock files.Files/WriteTo "
      "'{\"file\":{\"index\":0},\"text\":\"hi\"}'\n"
      "Descriptors that come with a reply are shown on standard error, "
      "\"file descriptor I: TYPE, ...\", and closed.\n"
      "  sockrpc call --proto increment.proto -H 'authorization:Bearer "
      "secret' \\\n"
      "      --deadline 2s localhost:50051 increment.Increment/Increment "
      "'{\"character\":\"A\"}'");
  MethodArguments arguments;
  if (std::optional<int> exit_code =
          ParseMethodArguments(parser, argc, argv, &arguments)) {
    return *exit_code;
  }
  if (std::optional<int> exit_code = TakeDataOption(parser, data, &arguments)) {
    return *exit_code;
  }
  absl::StatusOr<MessageFormat> message_format = ParseMessageFormat(format);
  if (!message_format.ok()) {
    return parser.UsageError(message_format.status().message());
  }
  plan.format = *message_format;
  for (const std::string& text : fd_numbers) {
    int number;
    if (!absl::SimpleAtoi(text, &number) || number < 0 ||
        ::fcntl(number, F_GETFD) < 0) {
      return parser.UsageError(absl::StrCat(
          "--fd takes the number of an open descriptor, got \"", text, "\""));
    }
    plan.fds.emplace_back(::fcntl(number, F_DUPFD_CLOEXEC, 0));
  }
  for (const std::string& path : files) {
    Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) {
      return parser.UsageError(
          absl::StrCat("--file ", path, ": ", std::strerror(errno)));
    }
    plan.fds.push_back(std::move(file));
  }
  common.accept_fds = true;
  MethodTarget target;
  if (std::optional<int> exit_code =
          ResolveMethodTarget(parser, common, arguments, &target)) {
    return *exit_code;
  }
  plan.request = arguments.request;
  plan.method = target.method;
  return Call(target, plan);
}

}  // namespace cli
}  // namespace sockrpc
