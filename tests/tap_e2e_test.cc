// End-to-end tests of `sockrpc tap` and `sockrpc decode` with the real
// binaries: increment_server behind the tap, increment_client and raw
// peers through it, captures saved and decoded again.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::BinaryPath;
using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::RawConnection;
using ::sockrpc::testing::RunIncrementClient;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartIncrementServer;
using ::sockrpc::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kMethod[] = "/increment.Increment/Increment";

std::vector<std::string> ProtoFlags() {
  return {"--proto", SOCKRPC_SOURCE_DIR "/examples/increment/increment.proto",
          "-I", SOCKRPC_SOURCE_DIR "/examples/increment"};
}

// A running `sockrpc tap` in front of an increment_server.
struct Tap {
  StartedServer server;
  std::unique_ptr<ChildProcess> process;
  std::string address;  // where clients connect
};

// Starts increment_server and `sockrpc tap --listen LISTEN --upstream
// SERVER extra...`, and returns once the tap listens.
absl::StatusOr<Tap> StartTap(const TempDir& dir, const std::string& listen,
                             const std::vector<std::string>& extra) {
  Tap tap;
  absl::StatusOr<StartedServer> server =
      StartIncrementServer(absl::StrCat("unix:", dir.File("server")));
  if (!server.ok()) return server.status();
  tap.server = *std::move(server);
  std::vector<std::string> args = {"tap", "--listen", listen, "--upstream",
                                   tap.server.address};
  args.insert(args.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(BinaryPath("sockrpc"), args);
  if (!process.ok()) return process.status();
  tap.process = *std::move(process);
  absl::StatusOr<std::string> line =
      tap.process->WaitForLine("listening on ", kProcessTimeout);
  if (!line.ok()) return line.status();
  // "sockrpc tap: listening on ADDR, upstream ADDR"
  absl::string_view rest = *line;
  rest.remove_prefix(rest.find("listening on ") + 13);
  tap.address = std::string(rest.substr(0, rest.find(',')));
  return tap;
}

// Stops the tap (SIGTERM) and returns its standard output, complete.
std::string StopTap(Tap* tap) {
  EXPECT_TRUE(tap->process->Signal(SIGTERM).ok());
  absl::StatusOr<int> status = tap->process->WaitForExit(kProcessTimeout);
  EXPECT_TRUE(status.ok()) << status.status();
  if (status.ok()) {
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << testing::DescribeWaitStatus(*status) << "\n"
        << tap->process->StderrText();
  }
  EXPECT_TRUE(tap->process->WaitForOutputEnd(kProcessTimeout).ok());
  return tap->process->StdoutText();
}

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

ToolRun RunSockrpc(const std::vector<std::string>& args) {
  ToolRun run;
  auto process = ChildProcess::Start(BinaryPath("sockrpc"), args);
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return run;
  }
  absl::StatusOr<int> status = (*process)->WaitForExit(kProcessTimeout);
  EXPECT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE((*process)->WaitForOutputEnd(kProcessTimeout).ok());
  if (status.ok() && WIFEXITED(*status)) run.exit_code = WEXITSTATUS(*status);
  run.out = (*process)->StdoutText();
  run.err = (*process)->StderrText();
  return run;
}

// Runs one increment_client call through the tap and waits until the tap
// has shown both directions of its connection end.
void CallThroughTap(Tap* tap, const std::string& character,
                    const std::string& expected_reply, int connection) {
  absl::StatusOr<testing::ClientRun> run =
      RunIncrementClient({"--target", tap->address, "--char", character});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->stdout_text,
              HasSubstr(absl::StrCat("char from server = ", expected_reply)))
      << run->stderr_text;
  for (const char* direction : {"C->S END", "S->C END"}) {
    EXPECT_TRUE(tap->process
                    ->WaitForLine(absl::StrCat("#", connection, " ", direction),
                                  kProcessTimeout)
                    .ok());
  }
}

TEST(TapE2eTest, ClientThroughTapGetsTheReplyAndTapShowsTheCall) {
  TempDir dir;
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), ProtoFlags());
  ASSERT_TRUE(tap.ok()) << tap.status();
  CallThroughTap(&*tap, "A", "B", 1);
  std::string out = StopTap(&*tap);
  EXPECT_THAT(out, HasSubstr(absl::StrCat("C->S HEADERS stream=1 len=")));
  EXPECT_THAT(out, HasSubstr(kMethod));
  EXPECT_THAT(out,
              HasSubstr("increment.IncrementRequest {\"character\":\"A\"}"));
  EXPECT_THAT(out, HasSubstr("increment.IncrementReply {\"character\":\"B\"}"));
  EXPECT_THAT(out, HasSubstr("S->C STATUS stream=1"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("\033[")));  // not a terminal
}

TEST(TapE2eTest, TapOverTcpWithSchemaFromReflection) {
  TempDir dir;
  absl::StatusOr<Tap> tap = StartTap(dir, "127.0.0.1:0", {});
  ASSERT_TRUE(tap.ok()) << tap.status();
  CallThroughTap(&*tap, "A", "B", 1);
  std::string out = StopTap(&*tap);
  EXPECT_THAT(out,
              HasSubstr("increment.IncrementRequest {\"character\":\"A\"}"));
  EXPECT_THAT(out, HasSubstr("increment.IncrementReply {\"character\":\"B\"}"));
}

TEST(TapE2eTest, DecodeOfTheSavedCaptureReproducesTheLiveOutput) {
  TempDir dir;
  const std::string capture = dir.File("cap.pcapng");
  std::vector<std::string> flags = ProtoFlags();
  flags.insert(flags.end(), {"--save", capture});
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), flags);
  ASSERT_TRUE(tap.ok()) << tap.status();
  CallThroughTap(&*tap, "A", "B", 1);
  CallThroughTap(&*tap, "y", "z", 2);
  std::string live = StopTap(&*tap);

  std::vector<std::string> args = ProtoFlags();
  args.insert(args.begin(), "decode");
  args.push_back(capture);
  ToolRun decoded = RunSockrpc(args);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, live);
  EXPECT_THAT(decoded.out, HasSubstr("{\"character\":\"z\"}"));
}

TEST(TapE2eTest, JsonOutputIsOneObjectPerLine) {
  TempDir dir;
  std::vector<std::string> flags = ProtoFlags();
  flags.push_back("--json");
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), flags);
  ASSERT_TRUE(tap.ok()) << tap.status();
  absl::StatusOr<testing::ClientRun> run =
      RunIncrementClient({"--target", tap->address, "--char", "A"});
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(
      tap->process->WaitForLine("\"character\":\"B\"", kProcessTimeout).ok());
  std::string out = StopTap(&*tap);
  int frames = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct object;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &object)
            .ok())
        << line;
    if (object.fields().at("event").string_value() == "frame") ++frames;
  }
  EXPECT_EQ(frames, 4);  // HEADERS, MESSAGE; MESSAGE, STATUS
}

TEST(TapE2eTest, GarbageClientIsForwardedAndShownAndTheTapGoesOn) {
  TempDir dir;
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), ProtoFlags());
  ASSERT_TRUE(tap.ok()) << tap.status();
  {
    absl::StatusOr<RawConnection> raw =
        RawConnection::Open(tap->address, kProcessTimeout);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE(raw->Send("hello, not sockrpc\n", kProcessTimeout).ok());
    absl::StatusOr<std::string> preface = raw->ReadPreface(kProcessTimeout);
    ASSERT_TRUE(preface.ok()) << preface.status();
    // The server's answer came through the tap unchanged: its preface and
    // a GOAWAY about the bad preface.
    absl::StatusOr<wire::GoAway> goaway =
        testing::ReadGoAway(&*raw, kProcessTimeout);
    ASSERT_TRUE(goaway.ok()) << goaway.status();
    EXPECT_THAT(goaway->message(), HasSubstr("bad connection preface"));
  }
  EXPECT_TRUE(tap->process->WaitForLine("MALFORMED", kProcessTimeout).ok());
  CallThroughTap(&*tap, "A", "B", 2);
  std::string out = StopTap(&*tap);
  EXPECT_THAT(out,
              HasSubstr("#1 C->S MALFORMED at byte 0: bad connection preface"));
  EXPECT_THAT(out, HasSubstr("#1 S->C GOAWAY"));
  EXPECT_THAT(out, HasSubstr("{\"character\":\"B\"}"));
}

TEST(TapE2eTest, DamagedCaptureIsShownNotFatal) {
  TempDir dir;
  const std::string capture = dir.File("cap.pcapng");
  std::vector<std::string> flags = ProtoFlags();
  flags.insert(flags.end(), {"--save", capture});
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), flags);
  ASSERT_TRUE(tap.ok()) << tap.status();
  CallThroughTap(&*tap, "A", "B", 1);
  StopTap(&*tap);
  // Cut the file inside its last packet.
  std::filesystem::resize_file(capture,
                               std::filesystem::file_size(capture) - 20);
  ToolRun decoded = RunSockrpc({"decode", capture});
  EXPECT_EQ(decoded.exit_code, 1);
  EXPECT_THAT(decoded.err, HasSubstr("capture damaged at byte"));
  EXPECT_THAT(decoded.out, HasSubstr("C->S MESSAGE stream=1"));
  // Without a schema the request is shown as raw fields.
  EXPECT_THAT(decoded.out, HasSubstr("raw: 1: \"A\""));

  ToolRun garbage = RunSockrpc({"decode", "--raw-client", capture});
  EXPECT_EQ(garbage.exit_code, 0) << garbage.err;
  EXPECT_THAT(garbage.out, HasSubstr("MALFORMED at byte 0"));
}

TEST(TapE2eTest, TsharkReadsTheCapture) {
  const std::string tshark = "/usr/bin/tshark";
  if (access(tshark.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "tshark is not installed";
  }
  TempDir dir;
  const std::string capture = dir.File("cap.pcapng");
  std::vector<std::string> flags = ProtoFlags();
  flags.insert(flags.end(), {"--save", capture});
  absl::StatusOr<Tap> tap =
      StartTap(dir, absl::StrCat("unix:", dir.File("tap")), flags);
  ASSERT_TRUE(tap.ok()) << tap.status();
  CallThroughTap(&*tap, "A", "B", 1);
  StopTap(&*tap);
  // Without tools/wireshark/sockrpc.lua every packet is an exported PDU
  // (no other protocol claims it, nothing is malformed), and its bytes are
  // the connection's bytes.
  auto process = ChildProcess::Start(
      tshark, {"-r", capture, "-T", "fields", "-e", "_ws.col.Protocol", "-e",
               "exported_pdu.src_port", "-e", "exported_pdu.exported_pdu"});
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<int> status = (*process)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok());
  ASSERT_TRUE((*process)->WaitForOutputEnd(kProcessTimeout).ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << (*process)->StderrText();
  const std::string fields = (*process)->StdoutText();
  EXPECT_THAT(fields, ::testing::Not(HasSubstr("Malformed")));
  // "PROTOCOL\tSRC_PORT\tHEX" lines; the server's port is 47474. Written
  // out the way `tshark -z follow,tcp,raw` prints a connection (the
  // server's lines indented by a tab), for `sockrpc decode` below.
  std::string out = "===================================\nFollow: tcp,raw\n";
  std::string client_bytes, server_bytes;
  for (absl::string_view line :
       absl::StrSplit(fields, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    ASSERT_EQ(parts.size(), 3u) << line;
    EXPECT_EQ(parts[0], "Exported PDU") << line;
    const bool from_server = parts[1] == "47474";
    // tshark shows the empty payloads (of SYN, FIN, ...) so.
    if (parts[2] == "<MISSING>") parts[2].clear();
    absl::StrAppend(from_server ? &server_bytes : &client_bytes, parts[2]);
    if (!parts[2].empty()) {
      absl::StrAppend(&out, from_server ? "\t" : "", parts[2], "\n");
    }
  }
  absl::StrAppend(&out, "===================================\n");
  // The client's preface and the server's reply "B".
  EXPECT_THAT(client_bytes, ::testing::StartsWith("534f434b52504301"));
  EXPECT_THAT(server_bytes,
              HasSubstr("534f434b525043010000000300000001020000000a0142"));

  // And `sockrpc decode` reads such a dump too.
  const std::string dump = dir.File("follow.txt");
  {
    std::FILE* file = std::fopen(dump.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fwrite(out.data(), 1, out.size(), file);
    std::fclose(file);
  }
  std::vector<std::string> args = ProtoFlags();
  args.insert(args.begin(), "decode");
  args.push_back(dump);
  ToolRun decoded = RunSockrpc(args);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_THAT(decoded.out, HasSubstr("{\"character\":\"B\"}"));
}

}  // namespace
}  // namespace sockrpc
