// The Wireshark dissector (tools/wireshark/sockrpc.lua) on a real capture:
// `sockrpc tap --save` in front of interop_server, `interop_client --case
// all` through the tap, then tshark with the dissector and the interop
// .proto on the protobuf search path. Skipped where tshark is not
// installed.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace {

using ::sockrpc::testing::ChildProcess;
using ::sockrpc::testing::kProcessTimeout;
using ::sockrpc::testing::ProgramRun;
using ::sockrpc::testing::RunProgram;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// interop_client --case all takes a few seconds (its deadline and
// cancellation cases wait on purpose); tshark reads the capture in about two.
constexpr absl::Duration kSuiteTimeout = absl::Seconds(60);

std::string FindTshark() {
  for (const char* path : {"/usr/bin/tshark", "/usr/local/bin/tshark"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs the interop suite through a tap that saves `capture`.
void CaptureTheInteropSuite(const TempDir& dir, const std::string& capture) {
  auto server_process = ChildProcess::Start(
      SOCKRPC_INTEROP_SERVER,
      testing::ServerFlags(
          "interop_server",
          {"--listen", absl::StrCat("unix:", dir.File("srv"))}));
  ASSERT_TRUE(server_process.ok()) << server_process.status();
  absl::StatusOr<StartedServer> server =
      testing::AwaitServing(*std::move(server_process));
  ASSERT_TRUE(server.ok()) << server.status();

  auto tap = ChildProcess::Start(
      SOCKRPC_CLI, {"tap", "--listen", absl::StrCat("unix:", dir.File("tap")),
                    "--upstream", server->address, "--save", capture});
  ASSERT_TRUE(tap.ok()) << tap.status();
  ASSERT_TRUE((*tap)->WaitForLine("listening on ", kProcessTimeout).ok())
      << (*tap)->StderrText();

  absl::StatusOr<ProgramRun> client = RunProgram(
      SOCKRPC_INTEROP_CLIENT,
      {"--target", absl::StrCat("unix:", dir.File("tap")), "--case", "all"},
      kSuiteTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(WIFEXITED(client->wait_status) &&
              WEXITSTATUS(client->wait_status) == 0)
      << client->stdout_text << client->stderr_text;

  // Every byte the client received went through the tap, which records
  // before it forwards: the capture is complete once the tap has stopped.
  ASSERT_TRUE((*tap)->Signal(SIGTERM).ok());
  absl::StatusOr<int> tap_status = (*tap)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(tap_status.ok()) << tap_status.status();
  EXPECT_TRUE(WIFEXITED(*tap_status) && WEXITSTATUS(*tap_status) == 0)
      << (*tap)->StderrText();
}

// Runs tshark on `capture` with the dissector, the interop .proto and
// `extra` flags; returns its standard output.
std::string Tshark(const std::string& tshark, const std::string& capture,
                   const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "-r",
      capture,
      "-X",
      "lua_script:" SOCKRPC_WIRESHARK_LUA,
      "-o",
      "uat:protobuf_search_paths:\"" SOCKRPC_INTEROP_PROTO_DIR "\",\"TRUE\""};
  args.insert(args.end(), extra.begin(), extra.end());
  absl::StatusOr<ProgramRun> run = RunProgram(tshark, args, kSuiteTimeout);
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return "";
  EXPECT_TRUE(WIFEXITED(run->wait_status) && WEXITSTATUS(run->wait_status) == 0)
      << run->stderr_text;
  EXPECT_THAT(run->stderr_text, Not(HasSubstr("Lua"))) << run->stderr_text;
  return run->stdout_text;
}

TEST(TapWiresharkTest, DissectorShowsTheInteropSuite) {
  const std::string tshark = FindTshark();
  if (tshark.empty()) GTEST_SKIP() << "tshark is not installed";
  TempDir dir;
  const std::string capture = dir.File("interop.pcapng");
  ASSERT_NO_FATAL_FAILURE(CaptureTheInteropSuite(dir, capture));

  // The packet tree (-V).
  const std::string tree = Tshark(tshark, capture, {"-V"});
  for (const char* expected : {
           // the preface
           "sockrpc RPC protocol, PREFACE version 1",
           "Magic: SOCKRPC",
           "Protocol version: 1",
           // frame types, stream ids, flags
           "Type: HEADERS (0x01)",
           "Type: MESSAGE (0x02)",
           "Type: STATUS (0x03)",
           "Type: CANCEL (0x04)",
           "Type: WINDOW_UPDATE (0x05)",
           "Type: HALF_CLOSE (0x08)",
           "Stream id: 1\n",
           ".... ...1 = END_STREAM: True",
           // the wire messages, status codes by name, metadata
           "Method: /sockrpc.interop.InteropTest/UnaryCall",
           "Status code: UNIMPLEMENTED (12)",
           // (a code the server sends whatever the timing: echoed by
           // status_code_and_message; a deadline may end on either side)
           "Status code: FAILED_PRECONDITION (9)",
           "[Status code: OK (0)]",
           "Key: x-sockrpc-test-echo-initial",
           "x-sockrpc-test-echo-initial: test_initial_metadata_value",
           "Reason: cancelled by the client",
           // a MESSAGE handed to the protobuf dissector by its method
           "[Message of: /sockrpc.interop.InteropTest/StreamingInputCall "
           "response]",
           "Message: sockrpc.interop.UploadSummary",
           "Field(1): total_size = 74922 (uint64)",
       }) {
    EXPECT_TRUE(absl::StrContains(tree, expected)) << expected;
  }
  for (const char* unwanted :
       {"Malformed", "[Malformed", "Lua Error", "Expert Info (Error"}) {
    EXPECT_FALSE(absl::StrContains(tree, unwanted)) << unwanted;
  }

  // The summary lines, and fields one by one (-T fields).
  const std::string summary = Tshark(tshark, capture, {});
  EXPECT_TRUE(absl::StrContains(
      summary,
      " PREFACE version 1; HEADERS stream=1 len=45 "
      "/sockrpc.interop.InteropTest/EmptyCall; MESSAGE stream=1 END_STREAM "
      "len=0 /sockrpc.interop.InteropTest/EmptyCall request"))
      << summary.substr(0, 2000);
  EXPECT_FALSE(absl::StrContains(summary, "Malformed"));
  // Two passes (as Wireshark's window re-dissects) show the same.
  EXPECT_TRUE(Tshark(tshark, capture, {"-2"}) == summary)
      << "one pass and two passes differ";
  const std::string fields =
      Tshark(tshark, capture,
             {"-Y", "sockrpc.status.code == 12", "-T", "fields", "-e",
              "sockrpc.stream", "-e", "sockrpc.type", "-e",
              "sockrpc.status.code", "-e", "sockrpc.status.message"});
  EXPECT_THAT(fields, HasSubstr("0x03"));
  EXPECT_THAT(fields, HasSubstr("12"));
  EXPECT_THAT(fields, HasSubstr("unknown"));  // "unknown method ..."
}

// sockrpc over real TCP, captured on the loopback interface: the heuristic
// recognizes the connections by their preface, and frames longer than a
// TCP segment are reassembled. Needs the right to capture (skipped
// without).
TEST(TapWiresharkTest, DissectorReadsSockrpcOverLoopbackTcp) {
  const std::string tshark = FindTshark();
  if (tshark.empty()) GTEST_SKIP() << "tshark is not installed";
  TempDir dir;
  auto server_process = ChildProcess::Start(
      SOCKRPC_INTEROP_SERVER,
      testing::ServerFlags("interop_server", {"--listen", "ipv4:127.0.0.1:0"}));
  ASSERT_TRUE(server_process.ok()) << server_process.status();
  absl::StatusOr<StartedServer> server =
      testing::AwaitServing(*std::move(server_process));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string port =
      server->address.substr(server->address.rfind(':') + 1);

  const std::string capture = dir.File("loopback.pcapng");
  // -P -X: it also prints each packet's summary, with the dissector, as it
  // captures: the sign that the last call's packets have arrived.
  auto capturing = ChildProcess::Start(
      tshark,
      {"-i", "lo", "-f", absl::StrCat("tcp port ", port), "-B", "64", "-w",
       capture, "-P", "-l", "-X", "lua_script:" SOCKRPC_WIRESHARK_LUA});
  ASSERT_TRUE(capturing.ok()) << capturing.status();
  // However the test ends, tshark stops its capture process (dumpcap)
  // itself: killing tshark alone would leave dumpcap running.
  absl::Cleanup stop_capture = [&capturing] {
    if ((*capturing)->Signal(SIGINT).ok()) {
      (*capturing)->WaitForExit(kProcessTimeout).IgnoreError();
    }
  };
  // tshark prints this once its capture process has begun capturing
  // ("Capturing on" comes before). Skipped only if tshark gave up (no
  // right to capture, no lo); slow to start on a busy machine is a wait.
  if (!(*capturing)->WaitForLine("Capture started", kSuiteTimeout).ok()) {
    absl::StatusOr<int> exited =
        (*capturing)->WaitForExit(absl::ZeroDuration());
    ASSERT_TRUE(exited.ok()) << "tshark neither started capturing nor exited: "
                             << (*capturing)->StderrText();
    GTEST_SKIP() << "tshark cannot capture on lo here: "
                 << (*capturing)->StderrText();
  }
  // A request of 271836 bytes (large_unary), four streamed requests,
  // metadata both ways, and last a call that ends UNIMPLEMENTED.
  for (const char* name : {"large_unary", "client_streaming", "custom_metadata",
                           "unimplemented_service"}) {
    absl::StatusOr<ProgramRun> client = RunProgram(
        SOCKRPC_INTEROP_CLIENT, {"--target", server->address, "--case", name},
        kSuiteTimeout);
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_TRUE(WIFEXITED(client->wait_status) &&
                WEXITSTATUS(client->wait_status) == 0)
        << name << ": " << client->stdout_text << client->stderr_text;
  }
  // libpcap hands packets over in blocks: wait for the last call's STATUS
  // to be seen before stopping the capture.
  ASSERT_TRUE((*capturing)->WaitForLine(" UNIMPLEMENTED", kSuiteTimeout).ok())
      << (*capturing)->StderrText();
  ASSERT_TRUE((*capturing)->Signal(SIGINT).ok());
  absl::StatusOr<int> stopped = (*capturing)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_TRUE((*capturing)->WaitForOutputEnd(kProcessTimeout).ok());
  ASSERT_FALSE(absl::StrContains((*capturing)->StderrText(), "dropped"))
      << (*capturing)->StderrText();

  const std::string summary = Tshark(tshark, capture, {});
  EXPECT_TRUE(absl::StrContains(summary, "[TCP segment of a reassembled PDU]"))
      << summary;
  EXPECT_TRUE(
      absl::StrContains(summary,
                        "MESSAGE stream=1 END_STREAM len=271836 "
                        "/sockrpc.interop.InteropTest/UnaryCall request"))
      << summary;
  const std::string tree = Tshark(tshark, capture, {"-V"});
  for (const char* expected : {
           "Magic: SOCKRPC",
           "Type: HALF_CLOSE (0x08)",
           "Key: x-sockrpc-test-echo-initial",
           "Field(1): total_size = 74922 (uint64)",
           "Status code: UNIMPLEMENTED (12)",
       }) {
    EXPECT_TRUE(absl::StrContains(tree, expected)) << expected;
  }
  for (const char* unwanted : {"Malformed", "Lua Error", "SMPP"}) {
    EXPECT_FALSE(absl::StrContains(tree, unwanted)) << unwanted;
  }
}

}  // namespace
}  // namespace sockrpc
