// End-to-end tests of file descriptors through the `sockrpc` tool: the
// real `sockrpc call` receiving the memfd the real files_server
// (examples/files) hands out and sending it a file of its own (--fd,
// --file), directly and through the real `sockrpc tap`, which passes the
// descriptors on and shows them.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"

namespace sockrpc {
namespace {

using testing::BinaryPath;
using testing::ChildProcess;
using testing::CliRun;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::kProcessTimeout;
using testing::RunCli;
using testing::TempDir;

constexpr int kInternal = 64 + 13;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A running files_server and its address.
struct FilesServer {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};

FilesServer StartFilesServer(const TempDir& dir) {
  FilesServer server;
  server.address = absl::StrCat("unix:", dir.File("files.sock"));
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(
      BinaryPath("files_server"), {"--listen", server.address});
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return server;
  server.process = *std::move(process);
  EXPECT_TRUE(
      server.process->WaitForLine("listening on", kProcessTimeout).ok());
  return server;
}

// A file of the test's, open read-write and inherited by the programs the
// test starts (no close-on-exec), so that `sockrpc call --fd N` has it.
class InheritedFile {
 public:
  explicit InheritedFile(const std::string& path)
      : path_(path),
        fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600)) {}
  ~InheritedFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  std::string Text() const { return ReadFile(path_); }

 private:
  const std::string path_;
  const int fd_;
};

class FdCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartFilesServer(dir_);
    ASSERT_NE(server_.process, nullptr);
  }

  TempDir dir_;
  FilesServer server_;
};

TEST_F(FdCliTest, CallShowsTheDescriptorsOfAReply) {
  CliRun run = RunCli(
      {"call", server_.address, "files.Files/Share", "{\"text\":\"hello\"}"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"file\":{}}\n");
  EXPECT_EQ(run.err,
            "file descriptor 0: regular file, 5 bytes, /memfd:files_server "
            "(deleted)\n");
}

TEST_F(FdCliTest, CallSendsADescriptorWithTheRequest) {
  InheritedFile file(dir_.File("out.txt"));
  ASSERT_GE(file.fd(), 0);
  CliRun run = RunCli({"call", "--fd", std::to_string(file.fd()),
                       server_.address, "files.Files/WriteTo",
                       "{\"file\":{\"index\":0},\"text\":\"from the tool\"}"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, ContainsRegex("^\\{\"bytesWritten\":\"[0-9]+\"\\}\n$"));
  EXPECT_THAT(file.Text(), HasSubstr("from the tool (written by files_server"));
}

TEST_F(FdCliTest, FileIsSentReadOnly) {
  const std::string path = dir_.File("read-only.txt");
  { std::ofstream(path) << "x"; }
  // The server's write into it fails, so it did get it (read-only).
  CliRun run =
      RunCli({"call", "--file", path, server_.address, "files.Files/WriteTo",
              "{\"file\":{\"index\":0},\"text\":\"no\"}"});
  EXPECT_EQ(run.exit_code, kInternal) << run.err;
  EXPECT_THAT(run.err, HasSubstr("Bad file descriptor"));
  EXPECT_EQ(ReadFile(path), "x");
}

TEST_F(FdCliTest, BadDescriptorOptionsAreUsageErrors) {
  CliRun run = RunCli(
      {"call", "--fd", "999", server_.address, "files.Files/Share", "{}"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--fd takes the number of an open "
                                 "descriptor, got \"999\""));
  run = RunCli({"call", "--file", dir_.File("none"), server_.address,
                "files.Files/Share", "{}"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("No such file or directory"));
  // A request naming a descriptor it did not bring: the server says so.
  run = RunCli({"call", server_.address, "files.Files/WriteTo",
                "{\"file\":{\"index\":3}}"});
  EXPECT_EQ(run.exit_code, 64 + 3) << run.err;  // INVALID_ARGUMENT
  EXPECT_THAT(run.err, HasSubstr("file descriptor index 3, but the message "
                                 "came with 0"));
}

TEST_F(FdCliTest, TapPassesDescriptorsOnBothWaysAndShowsThem) {
  for (const bool json : {false, true}) {
    const std::string tap_address =
        absl::StrCat("unix:", dir_.File(json ? "tap-json" : "tap"));
    std::vector<std::string> args = {"tap", "--listen", tap_address,
                                     "--upstream", server_.address};
    if (json) args.push_back("--json");
    absl::StatusOr<std::unique_ptr<ChildProcess>> tap =
        ChildProcess::Start(BinaryPath("sockrpc"), args);
    ASSERT_TRUE(tap.ok()) << tap.status();
    ASSERT_TRUE((*tap)->WaitForLine("listening on", kProcessTimeout).ok());

    CliRun share = RunCli({"call", tap_address, "files.Files/Share",
                           "{\"text\":\"via the tap\"}"});
    ASSERT_EQ(share.exit_code, 0) << share.err;
    EXPECT_THAT(share.err, HasSubstr("file descriptor 0: regular file, 11 "
                                     "bytes, /memfd:files_server"));
    InheritedFile file(dir_.File(json ? "tapped-json.txt" : "tapped.txt"));
    CliRun write =
        RunCli({"call", "--fd", std::to_string(file.fd()), tap_address,
                "files.Files/WriteTo",
                "{\"file\":{\"index\":0},\"text\":\"through the tap\"}"});
    ASSERT_EQ(write.exit_code, 0) << write.err;
    EXPECT_THAT(file.Text(), HasSubstr("through the tap (written by"));

    if (json) {
      ASSERT_TRUE((*tap)
                      ->WaitForLine("\"event\":\"descriptors\",\"from\":"
                                    "\"client\"",
                                    kProcessTimeout)
                      .ok());
      EXPECT_THAT((*tap)->StdoutText(),
                  ContainsRegex("\"event\":\"descriptors\",\"from\":\"server\","
                                "\"offset\":[0-9]+,\"text\":\"passed on to the "
                                "client\",\"fds\":\\[\"regular file, 11 bytes, "
                                "/memfd:files_server \\(deleted\\)\"\\]"));
    } else {
      ASSERT_TRUE(
          (*tap)
              ->WaitForLine("C->S DESCRIPTORS 1 at byte", kProcessTimeout)
              .ok());
      const std::string out = (*tap)->StdoutText();
      EXPECT_THAT(out,
                  ContainsRegex("S->C DESCRIPTORS 1 at byte [0-9]+, passed "
                                "on to the client: \\[0\\] regular file, "
                                "11 bytes, /memfd:files_server"));
      EXPECT_THAT(out,
                  ContainsRegex("C->S DESCRIPTORS 1 at byte [0-9]+, passed "
                                "on to the server: \\[0\\] regular file"));
      EXPECT_THAT(out, HasSubstr("FDS stream=1 len=2 /files.Files/WriteTo "
                                 "{\"count\":1}"));
    }
  }
}

}  // namespace
}  // namespace sockrpc
