// sockrpc: the command-line tool for sockrpc servers. Calls methods,
// load-tests them, lists and describes services, and watches and decodes
// traffic.
//
//   sockrpc <command> [options] [arguments]
//
// main() only picks the subcommand; each lives in its own file (see
// commands.h) and parses its own options.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "sockrpc/version.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace {

// The project's version (CMake's PROJECT_VERSION, in <sockrpc/version.h>).
constexpr char kVersion[] = SOCKRPC_VERSION_STRING;

// sockrpc version: prints "sockrpc VERSION".
int RunVersion(int argc, char** argv) {
  sockrpc::cli::ArgParser parser(
      "version", "version",
      "Prints the version of the sockrpc tool (also: sockrpc --version).");
  std::vector<std::string> args;
  if (std::optional<int> exit_code = parser.Parse(argc, argv, &args)) {
    return *exit_code;
  }
  if (!args.empty()) return parser.UsageError("takes no arguments");
  std::printf("sockrpc %s\n", kVersion);
  return 0;
}

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"list", sockrpc::cli::RunList,
     "list a server's services and their methods"},
    {"describe", sockrpc::cli::RunDescribe,
     "print a service, method or message as .proto text"},
    {"call", sockrpc::cli::RunCall,
     "call a method with JSON requests, print the JSON replies"},
    {"bench", sockrpc::cli::RunBench,
     "load-test a method: calls/s, latency percentiles, status codes"},
    {"tap", sockrpc::cli::RunTap,
     "relay a connection to a server and print its frames"},
    {"decode", sockrpc::cli::RunDecode,
     "decode the frames of a captured connection"},
    {"conformance", sockrpc::cli::RunConformance,
     "check that a server follows the wire protocol, rule by rule"},
    {"health", sockrpc::cli::RunHealth,
     "ask whether a server serves (exit 0 only if SERVING), or --watch"},
    {"stats", sockrpc::cli::RunStats,
     "show a server's live numbers: calls, latency, bytes, connections"},
    {"gateway", sockrpc::cli::RunGateway,
     "serve gRPC clients from a sockrpc server (sockrpc-gateway)"},
    {"version", RunVersion, "print the version (also: sockrpc --version)"},
};

const Command* FindCommand(const char* name) {
  for (const Command& command : kCommands) {
    if (std::strcmp(command.name, name) == 0) return &command;
  }
  return nullptr;
}

void PrintUsage(FILE* out) {
  std::fputs(
      "Usage: sockrpc <command> [options] [arguments]\n"
      "\n"
      "Talks to sockrpc servers from the shell.\n"
      "\n"
      "Commands:\n",
      out);
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %-11s %s\n", command.name, command.summary);
  }
  std::fputs(
      "  help        print this help, or a command's: sockrpc help COMMAND\n"
      "\n"
      "Options:\n"
      "  --help      print this help and exit\n"
      "  --version   print the version and exit\n"
      "\n"
      "Run 'sockrpc <command> --help' for a command's options.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--version") {
    std::printf("sockrpc %s\n", kVersion);
    return 0;
  }
  if (first == "help" || first == "--help" || first == "-h") {
    const bool help_help = argc > 2 && (std::strcmp(argv[2], "--help") == 0 ||
                                        std::strcmp(argv[2], "-h") == 0 ||
                                        std::strcmp(argv[2], "help") == 0);
    if (first == "help" && argc > 2 && !help_help) {
      const Command* command = FindCommand(argv[2]);
      if (command == nullptr) {
        std::fprintf(stderr, "sockrpc: unknown command \"%s\"\n\n", argv[2]);
        PrintUsage(stderr);
        return 2;
      }
      char help_flag[] = "--help";
      char* help_argv[] = {argv[2], help_flag, nullptr};
      return command->run(2, help_argv);
    }
    PrintUsage(stdout);
    return 0;
  }
  const Command* command = FindCommand(argv[1]);
  if (command == nullptr) {
    std::fprintf(stderr, "sockrpc: unknown command \"%s\"\n\n", argv[1]);
    PrintUsage(stderr);
    return 2;
  }
  return command->run(argc - 1, argv + 1);
}
