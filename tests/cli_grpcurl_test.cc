// End-to-end tests of the `sockrpc` tool's grpcurl-like behaviour (issue
// 16, item 4): --proto names resolved against -I as protoc does, a bounded
// connection (--connect-timeout), kebab-case flags with their old
// spellings, --version, help everywhere. The real sockrpc binary, run as a
// child process against real servers and against sockets that never
// answer.
#include <fcntl.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"
#include "tests/testing/temp_dir.h"
#include "transport/address.h"
#include "transport/fd.h"
#include "transport/socket.h"

namespace sockrpc {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kIncrementProto =
    absl::StrCat(SOCKRPC_SOURCE_DIR, "/examples/increment/increment.proto");
const std::string kProtoDir =
    absl::StrCat(SOCKRPC_SOURCE_DIR, "/examples/increment");
constexpr char kIncrement[] = "increment.Increment/Increment";

class CliIncrementTest : public ServerTest {
 protected:
  CliIncrementTest() : ServerTest("increment_server") {}
};

// ---- --proto and -I, as protoc ----

TEST(CliProtoPathTest, BareProtoNameIsFoundInTheImportDirectory) {
  CliRun run = RunCli({"list", "--proto", "increment.proto", "-I", kProtoDir});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("increment.Increment\n"));
}

TEST(CliProtoPathTest, ProtoPathUnderTheImportDirectoryIsAccepted) {
  CliRun run = RunCli({"describe", "--proto", kIncrementProto, "-I", kProtoDir,
                       "increment.Increment"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("service Increment {"));
}

TEST(CliProtoPathTest, ProtoNameInNoImportDirectoryIsNotFound) {
  TempDir dir;
  CliRun run = RunCli({"list", "--proto", "nowhere.proto", "-I", dir.path()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err,
              HasSubstr("ERROR: NOT_FOUND: cannot open nowhere.proto"));
}

TEST(CliProtoPathTest, ADifferentFileOfTheSameNameEarlierIsAConflict) {
  TempDir dir;
  std::ofstream(dir.File("increment.proto")) << "syntax = \"proto3\";\n";
  CliRun run = RunCli(
      {"list", "-I", dir.path(), "-I", kProtoDir, "--proto", kIncrementProto});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: INVALID_ARGUMENT:"));
  EXPECT_THAT(run.err, HasSubstr("is shadowed by"));
}

// ---- Connecting, bounded ----

// A unix socket that is listened on and never answered: connecting
// succeeds (the kernel queues the connection), and no preface ever comes.
TEST(CliConnectTest, SilentServerFailsAfterTheConnectTimeout) {
  TempDir dir;
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix:", dir.File("silent.sock")));
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Listener> listener = Listener::Bind(*address);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const std::string target = listener->address().ToString();
  for (std::vector<std::string> args :
       {std::vector<std::string>{"call", "--proto", kIncrementProto,
                                 "--connect-timeout", "1s", target, kIncrement,
                                 R"({"character":"A"})"},
        std::vector<std::string>{"list", "--connect-timeout=1s", target}}) {
    const absl::Time start = absl::Now();
    CliRun run = RunCli(args);
    EXPECT_LT(absl::Now() - start, absl::Seconds(8)) << args[0];
    EXPECT_NE(run.exit_code, 0) << args[0];
    EXPECT_THAT(run.err, HasSubstr("ERROR: UNAVAILABLE: ")) << args[0];
    EXPECT_THAT(run.err, HasSubstr(absl::StrCat("server at ", target,
                                                " sent no preface within 1s")))
        << args[0];
  }
}

TEST(CliConnectTest, BadConnectTimeoutIsAUsageError) {
  CliRun run =
      RunCli({"call", "--connect-timeout", "soon", "unix:/x", kIncrement});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--connect-timeout takes a positive"));
}

TEST(CliConnectTest, SocketPathThatIsARegularFileSaysSo) {
  TempDir dir;
  const std::string path = dir.File("plain");
  std::ofstream(path) << "not a socket\n";
  CliRun run = RunCli({"list", absl::StrCat("unix:", path)});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat(path, " is not a socket")));
}

// ---- Flag spelling ----

TEST_F(CliIncrementTest, KebabCaseFlagsAndTheirOldSpellingsBothWork) {
  for (const char* flag : {"--emit-defaults", "--emit_defaults"}) {
    CliRun run =
        RunCli({"call", flag, "--proto", "increment.proto", "--import_path",
                kProtoDir, address(), kIncrement, R"({"character":"A"})"});
    EXPECT_EQ(run.exit_code, 0) << flag << ": " << run.err;
    EXPECT_THAT(run.out, HasSubstr("\"character\":\"B\"")) << flag;
  }
  CliRun help = RunCli({"call", "--help"});
  EXPECT_THAT(help.out, HasSubstr("--emit-defaults"));
  EXPECT_THAT(help.out, HasSubstr("-I, --import-path DIR"));
  EXPECT_THAT(help.out, HasSubstr("--connect-timeout DURATION"));
}

// ---- list SERVICE, describe without a symbol, a service for a method ----

TEST_F(CliIncrementTest, ListServicePrintsItsMethodsOnePerLine) {
  CliRun run = RunCli({"list", address(), "increment.Increment"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "increment.Increment.Increment\n");
  CliRun offline =
      RunCli({"list", "--proto", kIncrementProto, "increment.Increment"});
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(offline.out, "increment.Increment.Increment\n");
}

TEST_F(CliIncrementTest, ListUnknownServiceNamesTheKnownOnes) {
  CliRun run = RunCli({"list", address(), "increment.Decrement"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("ERROR: NOT_FOUND: no service "
                                 "increment.Decrement in the schema"));
  EXPECT_THAT(run.err, HasSubstr("increment.Increment"));
}

TEST_F(CliIncrementTest, DescribeWithoutSymbolDescribesEveryService) {
  CliRun run = RunCli({"describe", address()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("// service increment.Increment"));
  EXPECT_THAT(run.out, HasSubstr("service Increment {"));
  CliRun offline = RunCli({"describe", "--proto", kIncrementProto});
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_THAT(offline.out, HasSubstr("service Increment {"));
}

TEST_F(CliIncrementTest, AServiceWhereAMethodIsDueSaysSoAndListsMethods) {
  CliRun run = RunCli({"call", address(), "increment.Increment", "{}"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("increment.Increment is a service, not a "
                                 "method: add /METHOD, where METHOD is "
                                 "Increment"));
}

TEST_F(CliIncrementTest, UnknownMethodListsTheServicesMethods) {
  CliRun run = RunCli({"call", address(), "increment.Increment/Decrement"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("has no method Decrement; its methods: "
                                 "Increment"));
}

// ---- Requests and metadata as grpcurl takes them ----

TEST_F(CliIncrementTest, DataOptionGivesTheRequestOrReadsStdin) {
  CliRun run =
      RunCli({"call", "-d", R"({"character":"A"})", address(), kIncrement});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"character\":\"B\"}\n");

  const std::string input = dir_.File("request.json");
  std::ofstream(input) << R"({"character":"x"})"
                       << "\n";
  CliRun piped = RunCli({"call", "-d", "@", address(), kIncrement}, input);
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "{\"character\":\"y\"}\n");

  CliRun both = RunCli({"call", "-d", "{}", address(), kIncrement, "{}"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("either with -d or as the REQUEST"));
}

TEST_F(CliIncrementTest, TextFormatReadsAndPrintsProtobufText) {
  CliRun run = RunCli(
      {"call", "--format", "text", address(), kIncrement, R"(character: "A")"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "character: \"B\"\n");
  CliRun bad = RunCli(
      {"call", "--format=text", address(), kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("protobuf text format"));
}

TEST_F(CliIncrementTest, VerboseSaysWhenTheServerSentNoMetadata) {
  CliRun run =
      RunCli({"call", "-v", address(), kIncrement, R"({"character":"A"})"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("initial metadata: (none)"));
  EXPECT_THAT(run.err, HasSubstr("trailing metadata: (none)"));
}

TEST(CliHeaderTest, RpcAndReflectHeadersGoToTheirCallsOnly) {
  TempDir dir;
  StartedServer server =
      StartServer("increment_server", dir, {"--require_token=secret"});
  const std::string token = "authorization: Bearer secret";
  const std::string request = R"({"character":"A"})";
  // The reflection call has the token, the call itself not.
  CliRun reflect_only = RunCli(
      {"call", "--reflect-header", token, server.address, kIncrement, request});
  EXPECT_EQ(reflect_only.exit_code, 64 + 16) << reflect_only.err;
  EXPECT_THAT(reflect_only.err, HasSubstr("ERROR: UNAUTHENTICATED:"));
  // The call has it, the reflection call not: no schema.
  CliRun rpc_only = RunCli(
      {"call", "--rpc-header", token, server.address, kIncrement, request});
  EXPECT_EQ(rpc_only.exit_code, 1) << rpc_only.err;
  EXPECT_THAT(rpc_only.err, HasSubstr("ERROR: UNAUTHENTICATED:"));
  CliRun both = RunCli({"call", "--rpc-header", token, "--reflect_header",
                        token, server.address, kIncrement, request});
  EXPECT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(both.out, "{\"character\":\"B\"}\n");
}

// ---- Exit status ----

TEST_F(CliIncrementTest, FailedCallExitsWith64PlusItsCode) {
  CliRun run = RunCli({"call", address(), kIncrement, R"({"character":""})"});
  EXPECT_EQ(run.exit_code, 64 + 3) << run.err;  // INVALID_ARGUMENT
  TempDir dir;
  CliRun unreachable =
      RunCli({"call", "--proto", kIncrementProto,
              absl::StrCat("unix:", dir.File("none")), kIncrement});
  EXPECT_EQ(unreachable.exit_code, 64 + 14) << unreachable.err;
}

// ---- bench: --rps and --format csv ----

TEST_F(CliIncrementTest, BenchRpsPacesTheCallsAndCsvReportsThem) {
  const absl::Time start = absl::Now();
  CliRun run =
      RunCli({"bench", "-n", "10", "-c", "2", "--rps", "20", "--format", "csv",
              "-d", R"({"character":"A"})", address(), kIncrement});
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Call 9 (from 0) is due 9/20 s after the start.
  EXPECT_GE(took, absl::Milliseconds(450));
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n');
  ASSERT_EQ(lines.size(), 3u) << run.out;  // header, values, ""
  std::vector<std::string> names = absl::StrSplit(lines[0], ',');
  std::vector<std::string> values = absl::StrSplit(lines[1], ',');
  ASSERT_EQ(names.size(), values.size()) << run.out;
  auto value = [&](const std::string& name) -> std::string {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return values[i];
    }
    return "(no column " + name + ")";
  };
  EXPECT_EQ(value("method"), kIncrement);
  EXPECT_EQ(value("rps"), "20");
  EXPECT_EQ(value("calls"), "10");
  EXPECT_EQ(value("ok"), "10");
  EXPECT_EQ(value("errors"), "0");
  EXPECT_NE(value("p99_ms"), "");
  // At most 20 calls/s, measured from the start to the last call's end.
  double rate = 0;
  ASSERT_TRUE(absl::SimpleAtod(value("calls_per_s"), &rate)) << run.out;
  EXPECT_LE(rate, 20 * 10.0 / 9.0 + 0.1);
}

// ---- Version and help ----

TEST(CliHelpTest, VersionIsTheProjectVersion) {
  for (const char* spelling : {"--version", "version"}) {
    CliRun run = RunCli({spelling});
    EXPECT_EQ(run.exit_code, 0) << spelling;
    EXPECT_EQ(run.out, "sockrpc " SOCKRPC_VERSION "\n") << spelling;
  }
}

TEST(CliHelpTest, EveryCommandsHelpHasUsageDescriptionAndOptions) {
  for (const char* command :
       {"list", "describe", "call", "bench", "tap", "decode", "conformance"}) {
    CliRun run = RunCli({command, "--help"});
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("Usage: sockrpc ", command)))
        << command;
    EXPECT_THAT(run.out, HasSubstr("\nOptions:\n")) << command;
    EXPECT_THAT(run.out, HasSubstr("--help")) << command;
  }
  CliRun help = RunCli({"help", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: sockrpc <command>"));
}

}  // namespace
}  // namespace testing
}  // namespace sockrpc
