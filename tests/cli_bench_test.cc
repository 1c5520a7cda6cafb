// End-to-end tests of `sockrpc bench`: the real sockrpc binary, run as a
// child process against real increment_server and interop_server
// processes on Unix sockets in a temporary directory. The tests check
// counts, codes and the shape of the report, never how fast anything was.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/cli_testing.h"
#include "tests/testing/child_process.h"
#include "tests/testing/increment_server.h"
#include "tests/testing/temp_dir.h"

namespace sockrpc {
namespace testing {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

const std::string kIncrementProto =
    absl::StrCat(SOCKRPC_SOURCE_DIR, "/examples/increment/increment.proto");
constexpr char kIncrement[] = "increment.Increment/Increment";
constexpr char kRequestA[] = R"({"character":"A"})";
constexpr char kInterop[] = "sockrpc.interop.InteropTest/";
const char* const kPercentiles[] = {"p10", "p25", "p50", "p75",
                                    "p90", "p95", "p99", "p99.9"};

// The number after `label` on the line of `text` that starts with it
// (after indentation), or -1.
double NumberAfter(const std::string& text, absl::string_view label) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, label)) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    double number = 0;
    if (!words.empty() && absl::SimpleAtod(words[0], &number)) return number;
  }
  return -1;
}

// A --json report, parsed.
Struct ParseReport(const std::string& json) {
  Struct report;
  auto status = google::protobuf::util::JsonStringToMessage(json, &report);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return report;
}

double Number(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  EXPECT_NE(it, object.fields().end()) << "no " << key;
  return it == object.fields().end() ? -1 : it->second.number_value();
}

std::string Text(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  EXPECT_NE(it, object.fields().end()) << "no " << key;
  return it == object.fields().end() ? "" : it->second.string_value();
}

const Struct& Object(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  EXPECT_NE(it, object.fields().end()) << "no " << key;
  return it == object.fields().end() ? Struct::default_instance()
                                     : it->second.struct_value();
}

// Checks what every report must satisfy: the status codes and the
// histogram each count every call, and the latencies are in order.
void ExpectConsistent(const Struct& report) {
  const double calls = Number(report, "calls");
  double by_code = 0;
  for (const auto& [code, entry] : Object(report, "statusCodes").fields()) {
    by_code += Number(entry.struct_value(), "count");
  }
  EXPECT_EQ(by_code, calls);
  double in_histogram = 0;
  for (const Value& bar :
       report.fields().at("histogram").list_value().values()) {
    in_histogram += Number(bar.struct_value(), "count");
  }
  EXPECT_EQ(in_histogram, calls);
  if (calls == 0) return;
  const Struct& latency = Object(report, "latencyNs");
  const Struct& percentiles = Object(report, "percentilesNs");
  double previous = Number(latency, "fastest");
  for (const char* name : kPercentiles) {
    const double value = Number(percentiles, name);
    EXPECT_LE(previous, value) << name;
    previous = value;
  }
  EXPECT_LE(previous, Number(latency, "slowest"));
  EXPECT_LE(Number(percentiles, "p50"), Number(percentiles, "p99"));
}

class BenchIncrementTest : public ServerTest {
 protected:
  BenchIncrementTest() : ServerTest("increment_server") {}
};

class BenchInteropTest : public ServerTest {
 protected:
  BenchInteropTest() : ServerTest("interop_server") {}
};

// ---- Reports ----

TEST_F(BenchIncrementTest, TextReportCountsEveryCall) {
  CliRun run = RunCli({"bench", address(), kIncrement, kRequestA, "--total",
                       "200", "--concurrency", "4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(NumberAfter(run.out, "Calls:"), 200) << run.out;
  EXPECT_EQ(NumberAfter(run.out, "OK"), 200) << run.out;
  EXPECT_THAT(run.out, HasSubstr("Ended:    --total 200 reached"));
  EXPECT_THAT(run.out, HasSubstr("4 workers over 1 connection"));
  for (const char* label : {"Rate:", "Average:", "Fastest:", "Slowest:",
                            "Latency histogram", "Latency percentiles:"}) {
    EXPECT_THAT(run.out, HasSubstr(label));
  }
  // Each percentile on its line, in milliseconds, none below the last.
  double previous = 0;
  for (const char* name : kPercentiles) {
    const double value = NumberAfter(run.out, absl::StrCat(name, " "));
    EXPECT_GE(value, previous) << name << "\n" << run.out;
    previous = value;
  }
  EXPECT_LE(previous, NumberAfter(run.out, "Slowest:"));
}

TEST_F(BenchIncrementTest, JsonReportAddsUp) {
  CliRun run = RunCli({"bench", "--json", "-n", "150", "-c", "3",
                       "--connections", "2", address(), kIncrement, kRequestA});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Struct report = ParseReport(run.out);
  EXPECT_EQ(Number(report, "calls"), 150);
  EXPECT_EQ(Number(report, "replies"), 150);
  EXPECT_EQ(Number(report, "concurrency"), 3);
  EXPECT_EQ(Number(report, "connections"), 2);
  EXPECT_EQ(Text(report, "stoppedBy"), "total");
  EXPECT_EQ(Text(report, "kind"), "unary");
  EXPECT_EQ(Number(Object(Object(report, "statusCodes"), "OK"), "count"), 150);
  ExpectConsistent(report);
}

TEST_F(BenchIncrementTest, RequestFromStdinIsSentByEveryCall) {
  // Without the request, {} would fail every call with INVALID_ARGUMENT.
  const std::string input = dir_.File("request.json");
  std::ofstream(input) << "{\n  \"character\": \"y\"\n}\n";
  CliRun run = RunCli(
      {"bench", "--json", "-n", "20", "-c", "2", address(), kIncrement, "-"},
      input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Number(Object(Object(ParseReport(run.out), "statusCodes"), "OK"),
                   "count"),
            20);
}

TEST_F(BenchIncrementTest, FailingCallsAreCountedByCodeWithTheFirstMessage) {
  // "AB" is not one character: every call ends with INVALID_ARGUMENT.
  CliRun run = RunCli({"bench", "--json", "-n", "40", "-c", "4", address(),
                       kIncrement, R"({"character":"AB"})"});
  ASSERT_EQ(run.exit_code, 0) << run.err;  // the run itself went fine
  Struct report = ParseReport(run.out);
  const Struct& codes = Object(report, "statusCodes");
  EXPECT_EQ(codes.fields().count("OK"), 0u);
  const Struct& invalid = Object(codes, "INVALID_ARGUMENT");
  EXPECT_EQ(Number(invalid, "count"), 40);
  EXPECT_THAT(Text(invalid, "firstError"),
              HasSubstr("character must be exactly one UTF-8 character"));
  ExpectConsistent(report);
}

TEST_F(BenchIncrementTest, DurationEndsTheRun) {
  CliRun run = RunCli({"bench", "--json", "--duration", "300ms", "-c", "2",
                       address(), kIncrement, kRequestA});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Struct report = ParseReport(run.out);
  EXPECT_EQ(Text(report, "stoppedBy"), "duration");
  EXPECT_EQ(report.fields().count("total"), 0u);
  ExpectConsistent(report);
}

TEST_F(BenchIncrementTest, SigintEndsTheRunAndTheReportIsStillPrinted) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> bench = ChildProcess::Start(
      BinaryPath("sockrpc"), {"bench", "--json", "--duration", "10m", "-c", "2",
                              address(), kIncrement, kRequestA});
  ASSERT_TRUE(bench.ok()) << bench.status();
  // The line comes once Ctrl-C ends the run rather than the process.
  ASSERT_TRUE(
      (*bench)->WaitForLine("Ctrl-C ends it early", kProcessTimeout).ok());
  ASSERT_TRUE((*bench)->Signal(SIGINT).ok());
  absl::StatusOr<int> status = (*bench)->WaitForExit(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status)) << DescribeWaitStatus(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  ASSERT_TRUE((*bench)->WaitForOutputEnd(kProcessTimeout).ok());
  Struct report = ParseReport((*bench)->StdoutText());
  EXPECT_EQ(Text(report, "stoppedBy"), "signal");
  ExpectConsistent(report);
}

TEST(BenchTokenTest, CallsRefusedByAnInterceptorAreCountedAsUnauthenticated) {
  TempDir dir;
  StartedServer server =
      StartServer("increment_server", dir, {"--require_token=secret"});
  // Reflection calls would be refused too: the schema comes from the file.
  CliRun refused =
      RunCli({"bench", "--json", "-n", "30", "-c", "3", "--proto",
              kIncrementProto, server.address, kIncrement, kRequestA});
  ASSERT_EQ(refused.exit_code, 0) << refused.err;
  Struct report = ParseReport(refused.out);
  const Struct& unauthenticated =
      Object(Object(report, "statusCodes"), "UNAUTHENTICATED");
  EXPECT_EQ(Number(unauthenticated, "count"), 30);
  EXPECT_THAT(Text(unauthenticated, "firstError"),
              HasSubstr("authorization: Bearer"));
  ExpectConsistent(report);

  CliRun allowed = RunCli({"bench", "-n", "30", "-c", "3", "-H",
                           "authorization: Bearer secret", server.address,
                           kIncrement, kRequestA});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(NumberAfter(allowed.out, "OK"), 30) << allowed.out;
}

// ---- Streaming and slow methods, against interop_server ----

TEST_F(BenchInteropTest, ServerStreamingCallsCountTheirReplies) {
  CliRun run = RunCli({"bench", "--json", "-n", "30", "-c", "3", address(),
                       absl::StrCat(kInterop, "StreamingOutputCall"),
                       R"({"replySizes":[1,2,0]})"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Struct report = ParseReport(run.out);
  EXPECT_EQ(Text(report, "kind"), "server-streaming");
  EXPECT_EQ(Number(report, "calls"), 30);
  EXPECT_EQ(Number(report, "replies"), 90);
  ExpectConsistent(report);
}

TEST_F(BenchInteropTest, DeadlineBoundsEachCall) {
  CliRun run = RunCli({"bench", "--json", "-n", "4", "-c", "2", "--deadline",
                       "100ms", address(), absl::StrCat(kInterop, "SleepCall"),
                       R"({"sleepMs":60000})"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Struct report = ParseReport(run.out);
  EXPECT_EQ(Number(Object(Object(report, "statusCodes"), "DEADLINE_EXCEEDED"),
                   "count"),
            4);
  ExpectConsistent(report);
}

TEST_F(BenchInteropTest, ServerThatDoesNotAnswerCannotHoldADurationRun) {
  // Each call would take a minute (the default deadline is 20s): the run
  // ends at its duration with every call in flight, cancelled, uncounted.
  CliRun run =
      RunCli({"bench", "--json", "--duration", "300ms", "-c", "2", address(),
              absl::StrCat(kInterop, "SleepCall"), R"({"sleepMs":60000})"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Struct report = ParseReport(run.out);
  EXPECT_EQ(Text(report, "stoppedBy"), "duration");
  EXPECT_EQ(Number(report, "calls"), 0);
  ExpectConsistent(report);
}

TEST_F(BenchInteropTest, ClientAndBidiStreamingMethodsAreAUsageError) {
  for (const char* method : {"StreamingInputCall", "FullDuplexCall"}) {
    CliRun run = RunCli({"bench", address(), absl::StrCat(kInterop, method)});
    EXPECT_EQ(run.exit_code, 2) << method;
    EXPECT_THAT(run.err, HasSubstr("bench runs unary and server-streaming "
                                   "methods only"));
  }
}

// ---- Runs that cannot start ----
// (A request that is not valid JSON and an unknown method: cli_e2e_test,
// for call and bench alike.)

TEST(BenchTest, UsageErrorsExitTwo) {
  const std::string address = "unix:/nonexistent/bench.sock";
  const std::vector<std::vector<std::string>> cases = {
      {"bench"},
      {"bench", address},
      {"bench", "-c", "0", address, kIncrement},
      {"bench", "-c", "many", address, kIncrement},
      {"bench", "-c", "2", "--connections", "3", address, kIncrement},
      {"bench", "--total", "-5", address, kIncrement},
      {"bench", "--duration", "soon", address, kIncrement},
      {"bench", "--deadline", "0s", address, kIncrement},
      {"bench", "--frobnicate", address, kIncrement},
      {"bench", address, kIncrement, "{}", "extra"},
  };
  for (const std::vector<std::string>& args : cases) {
    CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << run.err;
    EXPECT_THAT(run.err, HasSubstr("Usage: sockrpc bench"));
  }
}

TEST(BenchTest, UnreachableServerExitsOne) {
  TempDir dir;
  const std::string address = absl::StrCat("unix:", dir.File("nobody.sock"));
  // Through reflection, and with the schema from a file (the first call
  // is then the bench's own).
  for (std::vector<std::string> args :
       {std::vector<std::string>{"bench", address, kIncrement},
        std::vector<std::string>{"bench", "--proto", kIncrementProto, address,
                                 kIncrement}}) {
    CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("ERROR: UNAVAILABLE:"));
    EXPECT_THAT(run.err, HasSubstr("nobody.sock"));
    EXPECT_EQ(run.out, "");
  }
}

}  // namespace
}  // namespace testing
}  // namespace sockrpc
