#include "case_command.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sockrpc {
namespace bench {

std::vector<std::string> CaseArgv(const std::string& binary,
                                  const std::string& name,
                                  const CaseSpec& spec) {
  std::vector<std::string> argv = {binary,
                                   "--case",
                                   name,
                                   "--address",
                                   spec.address,
                                   "--size",
                                   std::to_string(spec.size),
                                   "--in-flight",
                                   std::to_string(spec.in_flight),
                                   "--connections",
                                   std::to_string(spec.connections),
                                   "--warmup",
                                   std::to_string(spec.warmup_seconds),
                                   "--seconds",
                                   std::to_string(spec.seconds),
                                   "--server-pid",
                                   std::to_string(spec.server)};
  if (!spec.tls_ca.empty()) argv.insert(argv.end(), {"--tls-ca", spec.tls_ca});
  return argv;
}

bool ParseCaseArgv(int argc, char** argv, std::string* name, CaseSpec* spec) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", argv[0], flag.c_str());
      return false;
    }
    const char* value = argv[++i];
    if (flag == "--case") {
      *name = value;
    } else if (flag == "--address") {
      spec->address = value;
    } else if (flag == "--size") {
      spec->size = std::strtoul(value, nullptr, 10);
    } else if (flag == "--in-flight") {
      spec->in_flight = std::atoi(value);
    } else if (flag == "--connections") {
      spec->connections = std::atoi(value);
    } else if (flag == "--warmup") {
      spec->warmup_seconds = std::atof(value);
    } else if (flag == "--seconds") {
      spec->seconds = std::atof(value);
    } else if (flag == "--server-pid") {
      spec->server = static_cast<pid_t>(std::atol(value));
    } else if (flag == "--tls-ca") {
      spec->tls_ca = value;
    } else {
      std::fprintf(stderr, "%s: unknown flag %s\n", argv[0], flag.c_str());
      return false;
    }
  }
  if (name->empty() || spec->address.empty() || spec->in_flight < 1 ||
      spec->connections < 1 || spec->seconds <= 0) {
    std::fprintf(stderr, "%s: needs --case, --address and sane counts\n",
                 argv[0]);
    return false;
  }
  return true;
}

std::string FormatResult(const Result& result) {
  char line[256];
  std::snprintf(line, sizeof(line), "result %lld %.9g %.9g %.9g %.9g\n",
                static_cast<long long>(result.calls), result.seconds,
                result.p50_us, result.p99_us, result.cpu_us_per_call);
  return line;
}

bool ParseResult(const std::string& output, Result* result) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    long long calls = 0;
    double seconds = 0, p50 = 0, p99 = 0, cpu = 0;
    if (std::sscanf(line.c_str(), "result %lld %lf %lf %lf %lf", &calls,
                    &seconds, &p50, &p99, &cpu) == 5) {
      result->ok = true;
      result->calls = calls;
      result->seconds = seconds;
      result->p50_us = p50;
      result->p99_us = p99;
      result->cpu_us_per_call = cpu;
      return true;
    }
  }
  return false;
}

}  // namespace bench
}  // namespace sockrpc
