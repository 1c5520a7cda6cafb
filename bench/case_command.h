// A benchmark case as the command line of grpc_bench_client, and the
// client's answer as one line of its output: how the runner hands a gRPC
// case to a separate process and reads its Result back. Internal to
// bench/.
//
//   grpc_bench_client --case NAME --address ADDR [--size N] [--in-flight N]
//       [--connections N] [--warmup S] [--seconds S] [--server-pid PID]
//
// answers (on success) with
//
//   result CALLS SECONDS P50_US P99_US CPU_US_PER_CALL
#ifndef SOCKRPC_BENCH_CASE_COMMAND_H_
#define SOCKRPC_BENCH_CASE_COMMAND_H_

#include <string>
#include <vector>

#include "cases.h"
#include "measure.h"

namespace sockrpc {
namespace bench {

// CaseArgv: the command line that runs case `name` of `spec` on `binary`.
std::vector<std::string> CaseArgv(const std::string& binary,
                                  const std::string& name,
                                  const CaseSpec& spec);
// ParseCaseArgv: the inverse of CaseArgv. False, with a message on stderr,
// on a malformed command line.
bool ParseCaseArgv(int argc, char** argv, std::string* name, CaseSpec* spec);

// FormatResult: the "result ..." line of a successful run, newline
// included.
std::string FormatResult(const Result& result);
// ParseResult: reads the "result ..." line out of a client's output into
// *result (ok set). False if there is none.
bool ParseResult(const std::string& output, Result* result);

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_CASE_COMMAND_H_
