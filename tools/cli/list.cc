// sockrpc list: the services a server serves (or a schema defines), with
// their methods.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_options.h"
#include "tools/cli/schema.h"

namespace sockrpc {
namespace cli {
namespace {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// "unary", "client-streaming", "server-streaming" or "bidi-streaming".
const char* KindOf(const MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) {
    return "bidi-streaming";
  }
  if (method.client_streaming()) return "client-streaming";
  if (method.server_streaming()) return "server-streaming";
  return "unary";
}

// The service's name, then one aligned line per method:
//   "  NAME  KIND  REQUEST -> REPLY".
std::string Describe(const ServiceDescriptor& service) {
  size_t name_width = 0;
  size_t kind_width = 0;
  for (int i = 0; i < service.method_count(); ++i) {
    name_width = std::max(name_width, service.method(i)->name().size());
    kind_width = std::max(kind_width, std::strlen(KindOf(*service.method(i))));
  }
  std::string text = absl::StrCat(service.full_name(), "\n");
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor& method = *service.method(i);
    std::string name = method.name();
    name.resize(name_width, ' ');
    std::string kind = KindOf(method);
    kind.resize(kind_width, ' ');
    absl::StrAppend(&text, "  ", name, "  ", kind, "  ",
                    method.input_type()->full_name(), " -> ",
                    method.output_type()->full_name(), "\n");
  }
  return text;
}

}  // namespace

int RunList(int argc, char** argv) {
  ArgParser parser(
      "list", "list [OPTIONS] ADDR [SERVICE]",
      "Lists the services of the server at ADDR, each followed by its "
      "methods: name, kind (unary, client-streaming, server-streaming or "
      "bidi-streaming), request and reply types. With SERVICE, lists that "
      "service's methods instead, one fully qualified name a line "
      "(package.Service.Method), as grpcurl does. The server tells them "
      "through its reflection service; with --proto or --protoset, the "
      "services those files define are listed instead, and ADDR may be "
      "left out (the server is not contacted).\n\n"
      "ADDR is a server address: unix:PATH, unix-abstract:NAME, "
      "ipv4:HOST:PORT, ipv6:[HOST]:PORT or HOST:PORT.");
  CommonOptions common;
  AddCommonOptions(&parser, &common);
  parser.AddNotes(
      "Examples:\n"
      "  sockrpc list unix:/tmp/server.sock\n"
      "  sockrpc list unix:/tmp/server.sock increment.Increment\n"
      "  sockrpc list --proto increment.proto -I examples/increment");
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  const bool from_files =
      !common.proto_files.empty() || !common.protoset.empty();
  std::string address;
  std::string service_name;
  if (args.size() == 2) {
    address = args[0];
    service_name = args[1];
  } else if (args.size() == 1 && from_files && !LooksLikeAddress(args[0])) {
    service_name = args[0];
  } else if (args.size() == 1) {
    address = args[0];
  } else if (args.size() > 2) {
    return parser.UsageError("too many arguments");
  }
  if (address.empty() && !from_files) return parser.UsageError("missing ADDR");
  absl::StatusOr<CallSettings> settings = MakeCallSettings(common, address);
  if (!settings.ok()) return parser.UsageError(settings.status().message());

  absl::StatusOr<std::unique_ptr<Schema>> schema = LoadSchema(settings->schema);
  if (!schema.ok()) return ReportFailure(schema.status());
  std::vector<const ServiceDescriptor*> services = (*schema)->Services();
  std::sort(services.begin(), services.end(),
            [](const ServiceDescriptor* a, const ServiceDescriptor* b) {
              return a->full_name() < b->full_name();
            });
  if (!service_name.empty()) {
    if (absl::StartsWith(service_name, ".")) service_name.erase(0, 1);
    for (const ServiceDescriptor* service : services) {
      if (service->full_name() != service_name) continue;
      for (int i = 0; i < service->method_count(); ++i) {
        std::printf("%s\n", service->method(i)->full_name().c_str());
      }
      return 0;
    }
    std::string known;
    for (const ServiceDescriptor* service : services) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", service->full_name());
    }
    return ReportFailure(absl::NotFoundError(
        absl::StrCat("no service ", service_name, " in the schema; it has ",
                     known.empty() ? "no services" : known)));
  }
  for (const ServiceDescriptor* service : services) {
    std::fputs(Describe(*service).c_str(), stdout);
  }
  return 0;
}

}  // namespace cli
}  // namespace sockrpc
