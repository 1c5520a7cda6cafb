// ParseProgramFlags(): absl::ParseCommandLine() with the --help and
// --version every command-line program is expected to have.
//
// Abseil's own --help exits 1 and lists every flag linked into the binary,
// Abseil's included, under their source paths. Programs built on sockrpc
// (the examples, the test and benchmark programs) call this instead:
//
//   int main(int argc, char** argv) {
//     sockrpc::examples::ParseProgramFlags(argc, argv, {
//         "increment_server [--listen ADDRESS] [OPTIONS]",
//         "Serves the Increment demo service: ..."});
//
// `--help` (also -h, -help, --helpfull, --helpshort) prints to stdout
//
//   Usage: increment_server [--listen ADDRESS] [OPTIONS]
//
//   Serves the Increment demo service: ...
//
//   Options:
//     --listen=VALUE   (default: unix:server_socket)
//         address to serve on: ...
//     ...
//
// listing the program's own flags (ABSL_FLAG) by name with their defaults,
// and exits 0. `--version` prints "NAME VERSION" (sockrpc's version) and
// exits 0. Anything else goes to absl::ParseCommandLine(), which prints an
// error and exits 1 on an unknown or malformed flag.
//
// Code to copy: nothing here is part of the sockrpc libraries.
#ifndef SOCKRPC_EXAMPLES_COMMON_PROGRAM_FLAGS_H_
#define SOCKRPC_EXAMPLES_COMMON_PROGRAM_FLAGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sockrpc {
namespace examples {

// What --help says about a program.
struct ProgramHelp {
  // The usage line without "Usage: ", e.g. "increment_client [OPTIONS]".
  // Its first word is the program's name, which --version prints too.
  absl::string_view usage;
  // What the program does: one or more sentences; may hold newlines.
  absl::string_view description;
};

// Handles --help and --version as described above (both exit 0), then
// parses the flags with absl::ParseCommandLine(). Returns the positional
// arguments, argv[0] first.
std::vector<char*> ParseProgramFlags(int argc, char** argv,
                                     const ProgramHelp& help);

// The text --help prints (for tests): the usage line, the description and
// every flag defined outside Abseil, sorted by name.
std::string ProgramHelpText(const ProgramHelp& help);

// "NAME VERSION", what --version prints, without the newline.
std::string ProgramVersionText(const ProgramHelp& help);

}  // namespace examples
}  // namespace sockrpc

#endif  // SOCKRPC_EXAMPLES_COMMON_PROGRAM_FLAGS_H_
