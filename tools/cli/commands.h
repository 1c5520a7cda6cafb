// The subcommands of the `sockrpc` tool. Each takes the arguments after
// its name (argv[0] is the subcommand) and returns the process exit code:
// 0 on success, 1 when the operation failed (an unreachable server, no
// schema), 2 on a usage error; `call` exits 64 + the status code when its
// call ends with a status other than OK. Each prints its own --help
// (exit 0).
//
// `health` exits, like grpc_health_probe, with a code per answer:
//   0  SERVING
//   1  no answer: the server cannot be reached, is not a sockrpc server,
//      took longer than --timeout, or serves no health service
//   2  usage error
//   3  NOT_SERVING (or UNKNOWN, which sockrpc servers never send)
//   4  SERVICE_UNKNOWN: the server knows no such service
// and with --watch the code of the last status it printed (1 if none).
#ifndef SOCKRPC_TOOLS_CLI_COMMANDS_H_
#define SOCKRPC_TOOLS_CLI_COMMANDS_H_

namespace sockrpc {
namespace cli {

int RunList(int argc, char** argv);      // sockrpc list ADDR
int RunDescribe(int argc, char** argv);  // sockrpc describe ADDR SYMBOL
int RunCall(int argc, char** argv);      // sockrpc call ADDR Svc/Method [REQ]
int RunBench(int argc, char** argv);     // sockrpc bench ADDR Svc/Method [REQ]
int RunTap(int argc, char** argv);       // sockrpc tap --listen --upstream
int RunDecode(int argc, char** argv);    // sockrpc decode FILE
int RunConformance(int argc, char** argv);  // sockrpc conformance ADDR
int RunHealth(int argc, char** argv);       // sockrpc health ADDR [SERVICE]
int RunStats(int argc, char** argv);        // sockrpc stats ADDR
int RunGateway(int argc, char** argv);  // sockrpc gateway --listen --upstream

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_COMMANDS_H_
