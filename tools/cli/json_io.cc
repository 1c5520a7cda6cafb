#include "tools/cli/json_io.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "transport/fd.h"
#include "transport/posix_error.h"

namespace sockrpc {
namespace cli {
namespace {

// Lines of a text known in full.
class TextLines final : public RequestLines {
 public:
  explicit TextLines(std::string text) : lines_(absl::StrSplit(text, '\n')) {}

  bool Next(std::string* line, int* number) override {
    while (!stopped_ && next_ < lines_.size()) {
      std::string& candidate = lines_[next_++];
      if (absl::StripAsciiWhitespace(candidate).empty()) continue;
      *line = std::move(candidate);
      *number = static_cast<int>(next_);
      return true;
    }
    return false;
  }
  void Stop() override { stopped_ = true; }

 private:
  std::vector<std::string> lines_;
  size_t next_ = 0;
  std::atomic<bool> stopped_{false};
};

// Lines of standard input, read as they come. Stop() writes to a pipe that
// Next() polls along with standard input.
class StdinLines final : public RequestLines {
 public:
  StdinLines(Fd wake_read, Fd wake_write)
      : wake_read_(std::move(wake_read)), wake_write_(std::move(wake_write)) {}

  bool Next(std::string* line, int* number) override {
    for (;;) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos || (at_end_ && !buffer_.empty())) {
        size_t length = newline == std::string::npos ? buffer_.size() : newline;
        std::string candidate = buffer_.substr(0, length);
        buffer_.erase(0, newline == std::string::npos ? length : length + 1);
        ++line_number_;
        if (absl::StripAsciiWhitespace(candidate).empty()) continue;
        *line = std::move(candidate);
        *number = line_number_;
        return true;
      }
      if (at_end_ || !ReadMore()) return false;
    }
  }

  void Stop() override {
    char byte = 1;
    while (write(wake_write_.get(), &byte, 1) < 0 && errno == EINTR) {
    }
  }

 private:
  // Waits for input and appends it to buffer_; false if stopped or on a
  // read error. Sets at_end_ at the end of the input.
  bool ReadMore() {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    for (;;) {
      int ready = poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return false;
      if (fds[1].revents != 0) return false;  // stopped
      char chunk[4096];
      ssize_t got = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return false;
      if (got == 0) {
        at_end_ = true;
      } else {
        buffer_.append(chunk, static_cast<size_t>(got));
      }
      return true;
    }
  }

  Fd wake_read_;
  Fd wake_write_;
  std::string buffer_;
  bool at_end_ = false;
  int line_number_ = 0;
};

}  // namespace

absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ", message->GetDescriptor()->full_name(),
                     " in JSON: ", std::string(status.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool emit_defaults) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = emit_defaults;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print a ", message.GetDescriptor()->full_name(),
                     " as JSON: ", std::string(status.message())));
  }
  return json;
}

absl::StatusOr<std::string> ReadStdin() {
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t got = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return PosixError("read(stdin)", errno);
    if (got == 0) return text;
    text.append(chunk, static_cast<size_t>(got));
  }
}

std::unique_ptr<RequestLines> RequestLines::FromText(std::string text) {
  return std::make_unique<TextLines>(std::move(text));
}

absl::StatusOr<std::unique_ptr<RequestLines>> RequestLines::FromStdin() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return PosixError("pipe2", errno);
  return std::make_unique<StdinLines>(Fd(fds[0]), Fd(fds[1]));
}

}  // namespace cli
}  // namespace sockrpc
