// ArgParser: the options and arguments of one `sockrpc` subcommand, and
// the --help text made from them. Internal to tools/cli.
//
// Options are declared with the variable each one fills, then Parse() reads
// argv. Accepted forms: "--name value", "--name=value", "-H value", "-Hvalue"
// (one-letter names), "--flag" and "--flag=true|false" for booleans, "--"
// to end the options. A lone "-" is an argument (it means standard input).
// Long options are declared in kebab-case ("--emit-defaults"); typed with
// underscores ("--emit_defaults") they mean the same, so that the older
// spellings keep working.
// Options may come before, between or after the arguments.
//
// Thread-compatible. The variables handed to Add*() are borrowed and must
// outlive Parse().
#ifndef SOCKRPC_TOOLS_CLI_ARGS_H_
#define SOCKRPC_TOOLS_CLI_ARGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sockrpc {
namespace cli {

class ArgParser {
 public:
  // `command` names the subcommand in messages ("list"); `synopsis` is the
  // usage line after "sockrpc " ("list [OPTIONS] ADDR"); `about` says in a
  // paragraph what the command does.
  ArgParser(std::string command, std::string synopsis, std::string about);

  // An option taking a value; a later occurrence replaces an earlier one.
  // `names` are like {"-I", "--import-path"}; `value_name` shows in the
  // help ("DIR").
  void AddString(std::vector<std::string> names, std::string value_name,
                 std::string help, std::string* value);
  // An option taking a value that may be given many times; each occurrence
  // is appended to *values.
  void AddList(std::vector<std::string> names, std::string value_name,
               std::string help, std::vector<std::string>* values);
  // A boolean option.
  void AddBool(std::vector<std::string> names, std::string help, bool* value);
  // Text printed after the options in --help (notes, examples).
  void AddNotes(std::string text);

  // Parse reads argv[1..argc) (argv[0] is the subcommand) into the
  // declared variables and `*arguments`. Returns an exit code if the
  // command should stop now: 0 after printing --help to stdout, 2 after
  // printing a usage error to stderr. Returns nothing to go on.
  std::optional<int> Parse(int argc, char** argv,
                           std::vector<std::string>* arguments);

  // UsageError prints "sockrpc COMMAND: message" and a pointer to --help
  // to stderr, and returns 2, for errors found after Parse().
  int UsageError(absl::string_view message) const;

  // The full --help text.
  std::string Help() const;

 private:
  enum class Kind { kString, kList, kBool };
  struct Option {
    std::vector<std::string> names;
    std::string value_name;
    std::string help;
    Kind kind;
    void* target;  // std::string*, std::vector<std::string>* or bool*
  };

  // The option called `name`, or null.
  const Option* Find(absl::string_view name) const;
  // Stores `value` into `option`'s variable; false (after printing) if it
  // is not a valid value.
  bool Store(const Option& option, absl::string_view name,
             absl::string_view value);

  const std::string command_;
  const std::string synopsis_;
  const std::string about_;
  std::vector<Option> options_;
  std::string notes_;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_ARGS_H_
