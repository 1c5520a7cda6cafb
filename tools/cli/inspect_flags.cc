#include "tools/cli/inspect_flags.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace cli {

absl::StatusOr<InspectFlags> ParseInspectFlags(int argc, char** argv) {
  InspectFlags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      flags.help = true;
      continue;
    }
    if (arg == "--json") {
      flags.json = true;
      continue;
    }
    if (arg == "--no-color") {
      flags.color = "never";
      continue;
    }
    if (arg == "--tls") {
      flags.upstream_tls.tls = true;
      continue;
    }
    if (arg == "--insecure") {
      flags.upstream_tls.insecure = true;
      continue;
    }
    if (arg.empty() || arg[0] != '-' || arg == "-") {
      flags.files.push_back(arg);
      continue;
    }
    // An option with a value: --name=VALUE, --name VALUE, -IDIR or -I DIR.
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos &&
                                   absl::StartsWith(arg, "--")) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    } else if (absl::StartsWith(arg, "-I") && arg.size() > 2) {
      name = "-I";
      value = arg.substr(2);
      has_value = true;
    }
    // Long options in kebab-case; underscores are taken for hyphens.
    if (absl::StartsWith(name, "--")) {
      std::replace(name.begin() + 2, name.end(), '_', '-');
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("option ", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (name == "--listen") {
      flags.listen = value;
    } else if (name == "--upstream") {
      flags.upstream = value;
    } else if (name == "--save") {
      flags.save = value;
    } else if (name == "--tls-cert") {
      flags.tls_cert = value;
    } else if (name == "--tls-key") {
      flags.tls_key = value;
    } else if (name == "--cacert") {
      flags.upstream_tls.cacert = value;
    } else if (name == "--cert") {
      flags.upstream_tls.cert = value;
    } else if (name == "--key") {
      flags.upstream_tls.key = value;
    } else if (name == "--server-name") {
      flags.upstream_tls.server_name = value;
    } else if (name == "--raw-client") {
      flags.raw_client = value;
    } else if (name == "--raw-server") {
      flags.raw_server = value;
    } else if (name == "--reflect") {
      flags.reflect = value;
    } else if (name == "--proto") {
      flags.proto_files.push_back(value);
    } else if (name == "-I" || name == "--import-path" ||
               name == "--proto-path") {
      flags.import_dirs.push_back(value);
    } else if (name == "--protoset") {
      flags.protoset = value;
    } else if (name == "--color") {
      if (value != "auto" && value != "always" && value != "never") {
        return absl::InvalidArgumentError(
            "--color takes auto, always or never");
      }
      flags.color = value;
    } else if (name == "--max-bytes") {
      if (!absl::SimpleAtoi(value, &flags.max_bytes)) {
        return absl::InvalidArgumentError("--max-bytes takes a byte count");
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", name));
    }
  }
  if (!flags.proto_files.empty() && !flags.protoset.empty()) {
    return absl::InvalidArgumentError(
        "give --proto or --protoset, not both");
  }
  return flags;
}

std::string InspectOptionsHelp(bool for_tap) {
  std::string text = "\nOptions:\n";
  if (for_tap) {
    text +=
        "  --listen ADDR        where clients connect to the tap\n"
        "  --upstream ADDR      the server every connection is relayed to\n"
        "  --save FILE          also write a pcapng capture of the traffic\n"
        "  --tls-cert FILE      speak TLS to clients that connect over TCP,\n"
        "                       with this certificate (PEM; with --tls-key)\n"
        "  --tls-key FILE       the private key of --tls-cert (PEM)\n"
        "  --tls                speak TLS to the upstream (the system's "
        "roots)\n"
        "  --cacert FILE        ... trusting the roots in FILE (PEM)\n"
        "  --cert FILE          ... with this client certificate (and --key)\n"
        "  --key FILE           the private key of --cert (PEM)\n"
        "  --server-name NAME   ... expecting NAME in its certificate\n"
        "  --insecure           ... believing any certificate\n";
  } else {
    text +=
        "  --raw-client FILE    the bytes the client sent (binary or hex)\n"
        "  --raw-server FILE    the bytes the server sent (binary or hex)\n"
        "  --reflect ADDR       take the schema from this server's "
        "reflection\n";
  }
  text +=
      "  --proto FILE         take the schema from this .proto file "
      "(repeatable)\n"
      "  -I, --import-path DIR  where --proto files and their imports are "
      "found\n"
      "                       (also --proto-path; repeatable)\n"
      "  --protoset FILE      take the schema from a FileDescriptorSet\n"
      "  --json               one JSON object per frame instead of text\n"
      "  --color WHEN         auto (default), always or never; --no-color is "
      "never\n"
      "  --max-bytes N        show at most N bytes of a payload "
      "(default 1024)\n"
      "  -h, --help           print this help and exit\n"
      "  Long options may also be written with underscores (--import_path).\n";
  return text;
}

bool WantColor(const InspectFlags& flags) {
  if (flags.json || flags.color == "never") return false;
  if (flags.color == "always") return true;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace cli
}  // namespace sockrpc
