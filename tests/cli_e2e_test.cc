// End-to-end tests of `sockrpc list | describe | call`: the real sockrpc
// binary, run as a child process against real increment_server and
// interop_server processes, with the schema from server reflection, from a
// .proto file parsed at run time and from a protoset built with protoc.
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"
#include "tests/interop/interop_common.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kIncrementProto =
    absl::StrCat(SOCKRPC_SOURCE_DIR, "/examples/increment/increment.proto");
const std::string kProtoDir =
    absl::StrCat(SOCKRPC_SOURCE_DIR, "/examples/increment");
constexpr char kIncrement[] = "increment.Increment/Increment";
constexpr char kInterop[] = "sockrpc.interop.InteropTest/";

// Writes `text` to a new file in `dir` and returns its path.
std::string WriteFile(const TempDir& dir, const std::string& name,
                      const std::string& text) {
  std::string path = dir.File(name);
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
}

class CliIncrementTest : public ServerTest {
 protected:
  CliIncrementTest() : ServerTest("increment_server") {}
};

class CliInteropTest : public ServerTest {
 protected:
  CliInteropTest() : ServerTest("interop_server") {}
};

class CliNoReflectionTest : public ServerTest {
 protected:
  CliNoReflectionTest()
      : ServerTest("increment_server", {"--reflection=false"}) {}
};

// ---- The tool itself ----

TEST(CliTest, HelpListsEveryCommand) {
  CliRun run = RunCli({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* command :
       {"list", "describe", "call", "bench", "tap", "decode"}) {
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("  ", command, " ")));
  }
}

TEST(CliTest, UnknownCommandPrintsUsageAndExitsTwo) {
  CliRun run = RunCli({"frobnicate"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(run.err, HasSubstr("Usage: sockrpc <command>"));
}

TEST(CliTest, NoCommandPrintsUsageAndExitsTwo) {
  CliRun run = RunCli({});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("Usage: sockrpc <command>"));
}

TEST(CliTest, EachCommandHasItsOwnHelp) {
  for (const char* command : {"list", "describe", "call", "bench"}) {
    CliRun run = RunCli({command, "--help"});
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("Usage: sockrpc ", command)));
    EXPECT_THAT(run.out, HasSubstr("--protoset FILE"));
  }
  CliRun help = RunCli({"help", "call"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, AllOf(HasSubstr("-H, --header KEY:VALUE"),
                              HasSubstr("--deadline DURATION")));
}

TEST(CliTest, MissingArgumentsAreAUsageError) {
  CliRun run = RunCli({"call", "unix:/nowhere"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("expected ADDR METHOD"));
}

TEST(CliTest, UnreachableServerFailsWithUnavailable) {
  TempDir dir;
  CliRun run = RunCli({"list", absl::StrCat("unix:", dir.File("none"))});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: UNAVAILABLE: cannot reach"));
}

// ---- With reflection ----

TEST_F(CliIncrementTest, ListShowsServicesAndMethodsThroughReflection) {
  CliRun run = RunCli({"list", address()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "increment.Increment");
  EXPECT_THAT(lines[1], AllOf(HasSubstr("Increment"), HasSubstr("unary"),
                              HasSubstr("increment.IncrementRequest -> "
                                        "increment.IncrementReply")));
  EXPECT_THAT(run.out, HasSubstr("sockrpc.reflection.v1.Reflection\n"));
}

TEST_F(CliIncrementTest, DescribeServicePrintsProtoText) {
  CliRun run = RunCli({"describe", address(), "increment.Increment"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("service Increment {"));
  EXPECT_THAT(run.out,
              HasSubstr("rpc Increment(.increment.IncrementRequest) returns "
                        "(.increment.IncrementReply);"));
}

TEST_F(CliIncrementTest, DescribeMethodPrintsItsMessagesToo) {
  for (const char* name :
       {"increment.Increment/Increment", "increment.Increment.Increment"}) {
    CliRun run = RunCli({"describe", address(), name});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("rpc Increment("));
    EXPECT_THAT(run.out, HasSubstr("message IncrementRequest {"));
    EXPECT_THAT(run.out, HasSubstr("message IncrementReply {"));
  }
}

TEST_F(CliIncrementTest, DescribeMessagePrintsItsFields) {
  CliRun run = RunCli({"describe", address(), "increment.IncrementRequest"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("message IncrementRequest {\n"
                                 "  string character = 1;\n}"));
}

TEST_F(CliIncrementTest, DescribeUnknownSymbolFailsWithNotFound) {
  CliRun run = RunCli({"describe", address(), "increment.Nope"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: NOT_FOUND: no symbol increment.Nope"));
}

TEST_F(CliIncrementTest, CallPrintsTheReplyAsJson) {
  CliRun run = RunCli({"call", address(), kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"B\"}\n");
}

TEST_F(CliIncrementTest, CallReadsTheRequestFromStdin) {
  std::string input =
      WriteFile(dir_, "request.json", "{\n  \"character\": \"y\"\n}\n");
  CliRun run = RunCli({"call", address(), kIncrement, "-"}, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"z\"}\n");
}

TEST_F(CliIncrementTest, FailedCallPrintsCodeNameAndExits64PlusTheCode) {
  CliRun run = RunCli({"call", address(), kIncrement, R"({"character":"AB"})"});
  EXPECT_EQ(run.exit_code, 64 + 3);  // INVALID_ARGUMENT
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, HasSubstr("ERROR: INVALID_ARGUMENT: character must be "
                                 "exactly one UTF-8 character"));
}

TEST_F(CliIncrementTest, RequestThatIsNotValidJsonIsAUsageError) {
  for (const char* command : {"call", "bench"}) {
    CliRun run =
        RunCli({command, address(), kIncrement, R"({"charactr":"A"})"});
    EXPECT_EQ(run.exit_code, 2) << command;
    EXPECT_THAT(run.err, HasSubstr("increment.IncrementRequest")) << command;
  }
}

TEST_F(CliIncrementTest, UnknownMethodFailsWithNotFound) {
  for (const char* command : {"call", "bench"}) {
    CliRun run = RunCli({command, address(), "increment.Increment/Decrement"});
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_EQ(run.out, "") << command;
    EXPECT_THAT(run.err, HasSubstr("ERROR: NOT_FOUND:")) << command;
    EXPECT_THAT(run.err, HasSubstr("Decrement")) << command;
  }
}

TEST(CliMetadataTest, HeaderOptionSendsMetadataWithEveryCall) {
  TempDir dir;
  StartedServer server =
      StartServer("increment_server", dir, {"--require_token=secret"});
  // Without the token even the reflection call is refused.
  CliRun refused =
      RunCli({"call", server.address, kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("ERROR: UNAUTHENTICATED:"));

  CliRun run = RunCli({"call", "-H", "authorization: Bearer secret",
                       server.address, kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"B\"}\n");
}

// ---- Streaming, against interop_server ----

TEST_F(CliInteropTest, ListShowsStreamingKinds) {
  CliRun run = RunCli({"list", address()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto line_of = [&](absl::string_view method) {
    for (const std::string& line : Lines(run.out)) {
      if (absl::StartsWith(line, absl::StrCat("  ", method, " "))) return line;
    }
    return std::string();
  };
  EXPECT_THAT(line_of("EmptyCall"), HasSubstr(" unary "));
  EXPECT_THAT(line_of("StreamingInputCall"), HasSubstr(" client-streaming "));
  EXPECT_THAT(line_of("StreamingOutputCall"), HasSubstr(" server-streaming "));
  EXPECT_THAT(line_of("FullDuplexCall"), HasSubstr(" bidi-streaming "));
}

TEST_F(CliInteropTest, ClientStreamingSendsOneRequestPerLine) {
  // Three chunks of 3, 6 and 0 bytes; the blank line is skipped.
  std::string input =
      WriteFile(dir_, "chunks.jsonl",
                "{\"body\":\"AAAA\"}\n\n{\"body\":\"AAAAAAAA\"}\n{}\n");
  CliRun run = RunCli(
      {"call", address(), absl::StrCat(kInterop, "StreamingInputCall")}, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"totalSize\":\"9\",\"chunkCount\":3}\n");
}

TEST_F(CliInteropTest, ClientStreamingTakesLinesFromTheArgumentToo) {
  CliRun run =
      RunCli({"call", address(), absl::StrCat(kInterop, "StreamingInputCall"),
              "{\"body\":\"AA==\"}\n{\"body\":\"AA==\"}"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"totalSize\":\"2\",\"chunkCount\":2}\n");
}

TEST_F(CliInteropTest, BadLineInARequestStreamIsAUsageError) {
  std::string input =
      WriteFile(dir_, "chunks.jsonl", "{\"body\":\"AAAA\"}\n{\"bogus\":1}\n");
  CliRun run = RunCli(
      {"call", address(), absl::StrCat(kInterop, "StreamingInputCall")}, input);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("request line 2"));
}

TEST_F(CliInteropTest, ServerStreamingPrintsOneReplyPerLine) {
  CliRun run =
      RunCli({"call", address(), absl::StrCat(kInterop, "StreamingOutputCall"),
              R"({"replySizes":[1,2,0]})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_THAT(lines[0], Not(HasSubstr("index")));  // 0 is not printed
  EXPECT_THAT(lines[1], HasSubstr("\"index\":1"));
  EXPECT_EQ(lines[2], "{\"index\":2}");
}

TEST_F(CliInteropTest, BidiStreamingAnswersEachLine) {
  std::string input =
      WriteFile(dir_, "duplex.jsonl", "{\"replySize\":2}\n{\"replySize\":1}\n");
  CliRun run = RunCli(
      {"call", address(), absl::StrCat(kInterop, "FullDuplexCall")}, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out).size(), 2u) << run.out;
}

TEST_F(CliInteropTest, StatusOfAStreamingCallIsReported) {
  CliRun run = RunCli(
      {"call", address(), absl::StrCat(kInterop, "StreamingOutputCall"),
       R"({"replySizes":[1],"echoStatus":{"code":9,"message":"no more"}})"});
  EXPECT_EQ(run.exit_code, 64 + 9);  // FAILED_PRECONDITION
  EXPECT_EQ(Lines(run.out).size(), 1u) << run.out;
  EXPECT_THAT(run.err, HasSubstr("ERROR: FAILED_PRECONDITION: no more"));
}

TEST_F(CliInteropTest, VerbosePrintsTheEchoedMetadata) {
  CliRun run = RunCli({"call", "-v", "-H",
                       absl::StrCat(interop::kEchoInitialKey, ":hello"), "-H",
                       absl::StrCat(interop::kEchoTrailingKey, ":AAEC/w=="),
                       address(), absl::StrCat(kInterop, "UnaryCall"), "{}"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err,
              HasSubstr(absl::StrCat("initial metadata ",
                                     interop::kEchoInitialKey, ": hello")));
  // A -bin value goes out decoded from base64 and comes back encoded.
  EXPECT_THAT(run.err,
              HasSubstr(absl::StrCat("trailing metadata ",
                                     interop::kEchoTrailingKey, ": AAEC/w==")));
}

TEST_F(CliInteropTest, DeadlineEndsASlowCall) {
  absl::Time start = absl::Now();
  CliRun run =
      RunCli({"call", "--deadline", "300ms", address(),
              absl::StrCat(kInterop, "SleepCall"), R"({"sleepMs":20000})"});
  EXPECT_EQ(run.exit_code, 64 + 4);  // DEADLINE_EXCEEDED
  EXPECT_THAT(run.err, HasSubstr("ERROR: DEADLINE_EXCEEDED"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
}

TEST_F(CliInteropTest, BadDeadlineIsAUsageError) {
  CliRun run = RunCli({"call", "--deadline", "soon", address(),
                       absl::StrCat(kInterop, "EmptyCall")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--deadline"));
}

// ---- Without reflection ----

TEST_F(CliNoReflectionTest, ListFailsAndSuggestsProtoFiles) {
  CliRun run = RunCli({"list", address()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: UNIMPLEMENTED:"));
  EXPECT_THAT(run.err, HasSubstr("--proto"));
  EXPECT_THAT(run.err, HasSubstr("--protoset"));
}

TEST_F(CliNoReflectionTest, CallWorksWithAProtoFile) {
  CliRun run = RunCli({"call", "--proto", kIncrementProto, "-I", kProtoDir,
                       address(), kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"B\"}\n");
}

TEST_F(CliNoReflectionTest, CallWorksWithAProtoset) {
  CliRun run = RunCli({"call", "--protoset", SOCKRPC_TEST_PROTOSET, address(),
                       kIncrement, R"({"character":"a"})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"b\"}\n");
}

TEST(CliFilesTest, ListAndDescribeFromAProtoFileNeedNoServer) {
  CliRun list = RunCli({"list", "--proto", kIncrementProto});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(Lines(list.out), ElementsAre("increment.Increment",
                                           HasSubstr("Increment  unary")));
  CliRun describe = RunCli({"describe", "--proto", kIncrementProto, "-I",
                            kProtoDir, "increment.Increment"});
  EXPECT_EQ(describe.exit_code, 0) << describe.err;
  // Parsed from source, the definitions keep their comments.
  EXPECT_THAT(describe.out, HasSubstr("// Increments characters"));
}

TEST(CliFilesTest, DescribeFromAProtoset) {
  CliRun run = RunCli({"describe", "--protoset", SOCKRPC_TEST_PROTOSET,
                       "increment.IncrementReply"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("message IncrementReply {"));
}

TEST(CliFilesTest, ProtoFileThatDoesNotParseNamesTheLine) {
  TempDir dir;
  std::string proto =
      WriteFile(dir, "broken.proto", "syntax = \"proto3\";\nmessage {\n");
  CliRun run = RunCli({"list", "--proto", proto});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: INVALID_ARGUMENT:"));
  EXPECT_THAT(run.err, HasSubstr("broken.proto:2:"));
}

TEST(CliFilesTest, ProtoFileMayImportWellKnownTypes) {
  TempDir dir;
  std::string proto = WriteFile(dir, "clock.proto",
                                "syntax = \"proto3\";\npackage clock;\n"
                                "import \"google/protobuf/timestamp.proto\";\n"
                                "service Clock {\n"
                                "  rpc Now(google.protobuf.Timestamp) returns "
                                "(google.protobuf.Timestamp);\n}\n");
  CliRun run = RunCli({"describe", "--proto", proto, "clock.Clock/Now"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("message Timestamp {"));
}

TEST(CliFilesTest, MissingProtosetFailsWithNotFound) {
  CliRun run = RunCli({"list", "--protoset", "/nonexistent/x.protoset"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: NOT_FOUND: cannot open"));
}

}  // namespace
}  // namespace testing
}  // namespace sockrpc
