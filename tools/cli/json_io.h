// JSON in and out for `sockrpc call`: messages to and from protobuf's JSON
// mapping, and the request text, which comes from the command line or
// standard input. Internal to tools/cli.
#ifndef SOCKRPC_TOOLS_CLI_JSON_IO_H_
#define SOCKRPC_TOOLS_CLI_JSON_IO_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sockrpc {
namespace cli {

// ParseJson fills `message` from `json`. Unknown fields are an error (they
// are usually typos). INVALID_ARGUMENT names the message type.
absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message);

// ToJson renders `message` as one line of JSON (field names in lowerCamel
// case, as the mapping says). With `emit_defaults`, fields holding their
// default value are printed too.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool emit_defaults);

// ReadStdin reads all of standard input.
absl::StatusOr<std::string> ReadStdin();

// RequestLines yields the lines of a stream of requests, one JSON object
// per line, skipping blank lines. Next() is for one thread; Stop() may
// come from any thread.
class RequestLines {
 public:
  // The lines of `text`.
  static std::unique_ptr<RequestLines> FromText(std::string text);
  // The lines of standard input, each as soon as it has been typed.
  static absl::StatusOr<std::unique_ptr<RequestLines>> FromStdin();

  virtual ~RequestLines() = default;
  // Stores the next line in *line and its number (from 1) in *number.
  // False at the end of the input, or once Stop() has been called.
  virtual bool Next(std::string* line, int* number) = 0;
  // Ends the input early: a Next() waiting for input returns false.
  virtual void Stop() = 0;
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_JSON_IO_H_
