#!/usr/bin/env bash
# build.sh: the one entry point for building, testing and demonstrating sockrpc.
#
# Every subcommand first makes sure the build dependencies are installed, then
# configures the tree with CMake (Ninja, Release) into build/ and builds it.
# Binaries land in build/bin/. Run `./build.sh help` for the list.
#
# The script never prompts, so it is safe under CI (CI=true, no stdin). It may
# be run from any directory: it works relative to its own location.
set -euo pipefail

# --- Settings ---------------------------------------------------------------

# The Debian 12 packages a build needs. Keep this list in step with the
# find_package() calls in the CMakeLists.
readonly REQUIRED_PACKAGES=(
  cmake
  ninja-build
  g++
  pkg-config
  libprotobuf-dev
  libprotoc-dev
  protobuf-compiler
  libabsl-dev
  libssl-dev  # TLS over TCP
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  tshark
  systemd  # systemd-socket-activate, for the socket activation tests
  prometheus-cpp-dev  # sockrpc stats --format prometheus
  python3-protobuf  # the Python package (python/) and its tests
  python3-pytest
  python3-venv
  libgrpc++-dev  # sockrpc gateway (tools/gateway/), gRPC on one side
  protobuf-compiler-grpc
  python3-grpcio  # the gateway's tests call it as a stock gRPC client
  valgrind  # callgrind: the per-call cost guard (tests/cost/) and bench rows
  openssl  # the TLS examples' certificates (README)
  iproute2  # the tests between network namespaces (ip netns, veth, tc)
  iptables  # ... their dropped packets where the kernel has no netem
  haproxy  # ... and the TCP load balancer in front of TLS servers
)

# Extra packages of the sanitizer and fuzzing builds (asan, tsan, fuzz
# only): clang, its sanitizer and libFuzzer runtimes (libclang-rt-14-dev
# holds libclang_rt.fuzzer), and llvm-symbolizer for readable reports.
readonly SANITIZER_PACKAGES=(
  clang
  libclang-rt-14-dev
  llvm
)

# Extra packages of the benchmarks (bench only): gRPC's C++ library and its
# protoc plugin, for the gRPC baseline (bench/CMakeLists.txt builds that
# baseline only where they are installed; nothing else needs them), and
# valgrind, whose callgrind counts the instructions of the stats and
# per-call cost rows.
readonly BENCH_PACKAGES=(
  libgrpc++-dev
  protobuf-compiler-grpc
  valgrind
  strace  # the system-calls-per-call rows
)

# The build directory, relative to the repository root.
readonly BUILD_DIR=build
# The sanitizer and fuzzing builds keep their own trees, so that switching
# between them never rebuilds the others.
readonly ASAN_BUILD_DIR=build-asan
readonly TSAN_BUILD_DIR=build-tsan
readonly FUZZ_BUILD_DIR=build-fuzz
# The benchmarks build into their own tree too (SOCKRPC_BUILD_BENCH=ON,
# Release), and write their table as JSON into the main build directory.
readonly BENCH_BUILD_DIR=build-bench
readonly BENCH_JSON="${BUILD_DIR}/bench.json"

# Flags of the sanitizer builds: -O1 keeps them quick enough to run the
# whole suite; every report fails (no recovery), with a frame pointer for
# stack traces.
readonly ASAN_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
readonly TSAN_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread"
readonly FUZZ_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"

# The tests `./build.sh tsan` runs: the concurrency and streaming tests, as
# a ctest -R regex over test names (GoogleTest suites, parameterized ones
# behind their instantiation's "Prefix/"; interop_unix/_tcp). Under TSan
# the rest adds time but no concurrency.
readonly TSAN_TESTS='^([A-Za-z]+/)?(interop_|FlowControlTest|BufferHintTest|CallbackServerTest|ClientCallbackTest|ClientCallbackThreadsTest|CallRaceTest|ShutdownRaceTest|GeneratedStreamingTest|BadInputTest|IncrementOverTransportTest|ShutdownSignalTest|FaultTest|LoadTest|LimitsTest|SmallRepliesTest|ClientKeepaliveTest|BackendsTest|TlsTest|BetweenHostsTest|PeerCredentialsTest|BatchCallStartsTest|ReusePoolTest|SyncTest|DirectSyscallsTest|BufferPoolTest|BlockRecyclerTest|InterceptorHooksTest|RedactErrorsTest|ClientInterceptorHooksTest|ClientWireTest|FdServerTest|FdClientTest|FdCallbackWireTest|HealthServiceTest|HealthRaceTest|StatsServiceTest|StatsAccessTest)'

# The libFuzzer targets (tests/fuzz/NAME_fuzzer.cc); `decode` fuzzes the
# parser of `sockrpc decode` (tools/cli/).
readonly FUZZ_TARGETS=(frame_decoder preface server_connection server_blocking client_response decode)

# The seed corpus of a fuzz target (tests/fuzz/corpus/NAME): its own, but
# server_blocking reads the same client bytes as server_connection.
fuzz_corpus_of() {
  if [[ "$1" == server_blocking ]]; then echo server_connection; else echo "$1"; fi
}

# libFuzzer flags of one target beyond the common ones: server_blocking's
# code under test frees on threads of its own (see its source), so its
# per-input leak check is off; the check at exit stays.
fuzz_target_flags() {
  if [[ "$1" == server_blocking ]]; then echo "-detect_leaks=0"; fi
}

# Calls per client of the load test (tests/hardening/load_test.cc) in the
# sanitizer builds; the plain build runs the full 10,000.
readonly SANITIZER_LOAD_CALLS=1000

# Parallel jobs for the build and for ctest. The reference machine has two
# cores; override with e.g. `JOBS=8 ./build.sh`.
JOBS="${JOBS:-2}"

# --- Helpers ----------------------------------------------------------------

# log MESSAGE...: prints a progress line that stands out from tool output.
log() {
  printf '==> %s\n' "$*"
}

# die MESSAGE...: prints an error to stderr and exits non-zero.
die() {
  printf 'build.sh: error: %s\n' "$*" >&2
  exit 1
}

# usage: prints the help text to stdout.
usage() {
  cat <<'EOF'
Usage: ./build.sh [COMMAND]

Commands:
  build   Install missing dependencies, configure and build (the default).
          Binaries land in build/bin/.
  test    Build, then run every test with ctest. Exits non-zero if any test
          fails. CI runs it first (then package-check, asan, tsan, fuzz).
  demo    Build increment_server and increment_client only, then run the
          Increment demo (examples/increment/demo.sh): one server, one
          client, then three clients at once.
  asan    Build with clang, AddressSanitizer and UndefinedBehaviorSanitizer
          into build-asan/ and run every test (the load test with fewer
          calls; not the packaging tests, which build other projects).
          Any report fails the run.
  tsan    Build with clang and ThreadSanitizer into build-tsan/ and run the
          concurrency and streaming tests.
  fuzz [SECONDS]
          Build the libFuzzer targets (tests/fuzz/) with ASan and UBSan
          into build-fuzz/ and run each for SECONDS (default 60), starting
          from tests/fuzz/corpus/. A crash stops the run; its input is left
          in build-fuzz/fuzz-artifacts/ (add it to tests/fuzz/regressions/).
  soak [MINUTES]
          Build interop_server and stress_client, then run
          tests/stress/soak.sh: stress_client (mixed checked calls,
          channel churn, hostile peers, cancels) against interop_server
          for MINUTES (default 30), sampling the server's
          memory, descriptors and threads each second into
          build/soak/soak.csv. Fails on a wrong reply, a hang, memory growth
          once warm, or descriptors or threads left over.
  skew [REV] [SECONDS]
          Build the interop programs and stress_client, then run
          tests/stress/skew.sh: build git revision REV (default: the
          release tag before HEAD) into build-skew/ and run
          every interop case and a 64-worker stress_client for SECONDS
          (default 60) with REV's client against this server and this
          client against REV's server, over unix and TCP. Fails on any
          failed case, unexpected error, wrong reply or hang.
  install [PREFIX]
          Build, then install the libraries (shared and static), public
          headers, protoc-gen-sockrpc, the sockrpc tool, the CMake package
          (find_package(sockrpc)) and the pkg-config files into PREFIX
          (default /usr/local).
  package Build, then make the Debian package build/sockrpc_VERSION_ARCH.deb
          (CPack); install it with apt-get install ./build/sockrpc_*.deb.
  package-check
          package, then install the .deb with apt-get (as root), build the
          consumer project (tests/consumer) with plain find_package(sockrpc),
          check it (tests/consumer/check_consumer.sh), and remove the package
          again. CI runs it.
  help    Show this help.

  bench [SECONDS]
          Build the benchmarks (bench/) into build-bench/ and run them,
          each case measured for SECONDS (default 1) after a warm-up:
          sockrpc against raw-socket baselines and gRPC over a Unix
          socket and TCP loopback. Prints one table and writes it as JSON
          to build/bench.json. See docs/PERFORMANCE.md.

Environment:
  JOBS    Parallel build and test jobs (default 2).

Dependencies: on Debian 12 the script installs any missing package with
apt-get when run as root; otherwise it prints the apt-get command to run.
asan, tsan and fuzz also need clang, libclang-rt-14-dev and llvm; bench
also needs libgrpc++-dev and protobuf-compiler-grpc (the gRPC baseline).
EOF
}

# usage_error MESSAGE...: prints the help and MESSAGE to stderr and exits 2,
# the conventional status for a command-line mistake.
usage_error() {
  usage >&2
  printf '\nbuild.sh: %s\n' "$*" >&2
  exit 2
}

# --- Steps ------------------------------------------------------------------

# setup [PACKAGE...]: checks that every required package (and each
# PACKAGE given) is installed, and installs the missing ones. Does nothing
# (and needs no network) when all are present.
setup() {
  local wanted=("${REQUIRED_PACKAGES[@]}" "$@")
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found: not a Debian system, skipping the package check."
    log "Make sure the equivalents of these are installed: ${wanted[*]}"
    return 0
  fi

  local missing=() pkg status
  for pkg in "${wanted[@]}"; do
    # dpkg-query fails (and prints to stderr) for a package it has never
    # heard of; that counts as missing too.
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done

  if ((${#missing[@]} == 0)); then
    return 0
  fi

  log "Missing packages: ${missing[*]}"
  if ((EUID != 0)); then
    {
      echo "build.sh: some build dependencies are not installed. Install them with:"
      echo
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      echo
    } >&2
    exit 1
  fi

  log "Installing them with apt-get"
  apt-get update
  DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# configure: (re)generates the Ninja build in $BUILD_DIR. Re-running CMake on
# an existing tree is quick and picks up any CMakeLists change.
configure() {
  log "Configuring into ${BUILD_DIR}/"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
}

# build [TARGET...]: compiles the TARGETs (with what they need), or
# everything, with $JOBS parallel jobs.
build() {
  if (($# > 0)); then
    log "Building $* with ${JOBS} jobs"
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "$@"
  else
    log "Building with ${JOBS} jobs"
    cmake --build "$BUILD_DIR" -j "$JOBS"
  fi
}

# run_tests: runs the whole ctest suite; a failing test fails the script.
run_tests() {
  log "Running tests"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
}

# configure_clang DIR FLAGS [CMAKE_ARG...]: configures DIR with clang, FLAGS
# on every compile and link.
configure_clang() {
  local dir="$1" flags="$2"
  shift 2
  log "Configuring into ${dir}/ (clang: ${flags})"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
    "$@"
}

# run_asan: builds build-asan/ and runs the whole suite under ASan + UBSan.
run_asan() {
  configure_clang "$ASAN_BUILD_DIR" "$ASAN_FLAGS" -DSOCKRPC_PACKAGING_TESTS=OFF
  log "Building ${ASAN_BUILD_DIR}/ with ${JOBS} jobs"
  cmake --build "$ASAN_BUILD_DIR" -j "$JOBS"
  log "Running tests under ASan + UBSan"
  ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    SOCKRPC_LOAD_CALLS="$SANITIZER_LOAD_CALLS" \
    ctest --test-dir "$ASAN_BUILD_DIR" --output-on-failure -j "$JOBS"
}

# run_tsan: builds build-tsan/ and runs the concurrency and streaming tests
# under TSan. A report makes the process exit 66, so its test fails.
run_tsan() {
  configure_clang "$TSAN_BUILD_DIR" "$TSAN_FLAGS" -DSOCKRPC_PACKAGING_TESTS=OFF
  log "Building ${TSAN_BUILD_DIR}/ with ${JOBS} jobs"
  cmake --build "$TSAN_BUILD_DIR" -j "$JOBS"
  log "Running the concurrency and streaming tests under TSan"
  TSAN_OPTIONS="second_deadlock_stack=1:history_size=4" \
    SOCKRPC_LOAD_CALLS="$SANITIZER_LOAD_CALLS" \
    ctest --test-dir "$TSAN_BUILD_DIR" --output-on-failure -j "$JOBS" \
    -R "$TSAN_TESTS"
}

# run_fuzz SECONDS: builds the fuzz targets and runs each for SECONDS.
run_fuzz() {
  local seconds="$1" target
  configure_clang "$FUZZ_BUILD_DIR" "$FUZZ_FLAGS" -DSOCKRPC_BUILD_FUZZERS=ON
  log "Building the fuzz targets with ${JOBS} jobs"
  local build_targets=()
  for target in "${FUZZ_TARGETS[@]}"; do
    build_targets+=("${target}_fuzzer")
  done
  cmake --build "$FUZZ_BUILD_DIR" -j "$JOBS" --target "${build_targets[@]}"
  mkdir -p "${FUZZ_BUILD_DIR}/fuzz-artifacts"
  for target in "${FUZZ_TARGETS[@]}"; do
    # New inputs go to a scratch corpus; the committed seeds stay as they
    # are (libFuzzer writes to the first directory only).
    local work="${FUZZ_BUILD_DIR}/fuzz-corpus/${target}"
    mkdir -p "$work" "tests/fuzz/regressions/${target}"
    log "Fuzzing ${target} for ${seconds}s"
    if ! ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" \
      "${FUZZ_BUILD_DIR}/fuzz/${target}_fuzzer" $(fuzz_target_flags "$target") \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 \
        -print_final_stats=1 \
        -artifact_prefix="${FUZZ_BUILD_DIR}/fuzz-artifacts/${target}-" \
        "$work" "tests/fuzz/corpus/$(fuzz_corpus_of "$target")" \
        "tests/fuzz/regressions/${target}"; then
      die "fuzz target ${target} failed; the input is in ${FUZZ_BUILD_DIR}/fuzz-artifacts/ (copy it into tests/fuzz/regressions/${target}/ once fixed)"
    fi
  done
}

# run_bench SECONDS: builds build-bench/ and runs the benchmark suite.
run_bench() {
  local seconds="$1"
  log "Configuring into ${BENCH_BUILD_DIR}/ (benchmarks)"
  cmake -S . -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSOCKRPC_BUILD_TESTS=OFF -DSOCKRPC_BUILD_BENCH=ON
  log "Building the benchmarks with ${JOBS} jobs"
  cmake --build "$BENCH_BUILD_DIR" -j "$JOBS" --target sockrpc_bench
  mkdir -p "$(dirname "$BENCH_JSON")"
  log "Running the benchmarks (${seconds}s per case)"
  "${BENCH_BUILD_DIR}/bin/sockrpc_bench" --seconds "$seconds" \
    --out "$BENCH_JSON"
}

# run_soak MINUTES: the soak test against the binaries just built.
run_soak() {
  log "Soaking interop_server for $1 min"
  tests/stress/soak.sh "${BUILD_DIR}/tests/bin" "$1" "${BUILD_DIR}/soak"
}

# run_skew REV SECONDS: the version-skew run against the binaries just built.
run_skew() {
  log "Version skew against $1, ${2}s of stress per run"
  JOBS="$JOBS" tests/stress/skew.sh "${BUILD_DIR}/tests/bin" "$1" "$2" build-skew
}

# run_demo: runs the Increment demo against the binaries just built.
run_demo() {
  log "Running the Increment demo"
  examples/increment/demo.sh "${BUILD_DIR}/bin"
}

# run_install PREFIX: installs the build into PREFIX.
run_install() {
  log "Installing into $1"
  cmake --install "$BUILD_DIR" --prefix "$1"
}

# run_package: makes the .deb in $BUILD_DIR and prints its name.
run_package() {
  log "Packaging (CPack)"
  (cd "$BUILD_DIR" && cpack -G DEB)
  ls "${BUILD_DIR}"/sockrpc_*.deb
}

# run_package_check: installs the .deb just made, builds and checks the
# consumer project against it, then removes the package.
run_package_check() {
  [[ $(id -u) == 0 ]] || die "package-check installs the .deb: run it as root"
  local deb consumer
  deb=$(ls "${BUILD_DIR}"/sockrpc_*.deb)
  consumer="$(mktemp -d)"
  log "Installing ${deb} with apt-get"
  apt-get install -y --no-install-recommends "./${deb}"
  # Whatever happens below, leave the machine as it was.
  trap 'apt-get remove -y sockrpc >/dev/null; rm -rf "'"$consumer"'"' EXIT
  log "Building tests/consumer with find_package(sockrpc) from /usr"
  cmake -S tests/consumer -B "$consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$consumer" -j "$JOBS"
  tests/consumer/check_consumer.sh "$consumer"
  log "Checking the Python package it installed"
  (cd "$consumer" && /usr/bin/python3 -c '
import sockrpc, sys
assert sockrpc.__file__.startswith("/usr/lib/python3/dist-packages/"), sockrpc.__file__
print("sockrpc", sockrpc.__version__, "for Python at", sockrpc.__file__)')
  # Its protoc plugin, from PATH as protoc finds it, makes stubs that import.
  mkdir -p "$consumer/python"
  protoc -I examples/increment --python_out="$consumer/python" \
    --sockrpc_python_out="$consumer/python" increment.proto
  (cd "$consumer/python" && /usr/bin/python3 -c '
import increment_sockrpc
print("protoc-gen-sockrpc_python made", increment_sockrpc.IncrementStub.__name__)')
  log "The package installs, and a find_package(sockrpc) consumer builds and works"
}

# --- Main -------------------------------------------------------------------

main() {
  # Everything below is relative to the repository root.
  cd "$(dirname "${BASH_SOURCE[0]}")"

  local command="${1:-build}"
  local max_args=1
  [[ "$command" == fuzz || "$command" == bench || "$command" == soak ]] &&
    max_args=2
  [[ "$command" == skew ]] && max_args=3
  [[ "$command" == install ]] && max_args=2
  if (($# > max_args)); then
    usage_error "expected at most ${max_args} arguments, got $#: $*"
  fi

  if [[ ! "$JOBS" =~ ^[1-9][0-9]*$ ]]; then
    die "JOBS must be a positive whole number, got '${JOBS}'"
  fi

  case "$command" in
    build)
      setup
      configure
      build
      ;;
    test)
      setup
      configure
      build
      run_tests
      ;;
    demo)
      setup
      configure
      # Only the two programs the demo runs: a first run from a fresh
      # clone takes minutes, not the whole suite's build.
      build increment_server increment_client
      run_demo
      ;;
    install)
      setup
      configure
      build
      run_install "${2:-/usr/local}"
      ;;
    package)
      setup
      configure
      build
      run_package
      ;;
    package-check)
      setup
      configure
      build
      run_package
      run_package_check
      ;;
    asan)
      setup "${SANITIZER_PACKAGES[@]}"
      run_asan
      ;;
    tsan)
      setup "${SANITIZER_PACKAGES[@]}"
      run_tsan
      ;;
    fuzz)
      local seconds="${2:-60}"
      if [[ ! "$seconds" =~ ^[1-9][0-9]*$ ]]; then
        usage_error "fuzz SECONDS must be a positive whole number, got '${seconds}'"
      fi
      setup "${SANITIZER_PACKAGES[@]}"
      run_fuzz "$seconds"
      ;;
    bench)
      local bench_seconds="${2:-1}"
      if [[ ! "$bench_seconds" =~ ^[1-9][0-9]*$ ]]; then
        usage_error "bench SECONDS must be a positive whole number, got '${bench_seconds}'"
      fi
      setup "${BENCH_PACKAGES[@]}"
      run_bench "$bench_seconds"
      ;;
    soak)
      local minutes="${2:-30}"
      if [[ ! "$minutes" =~ ^[1-9][0-9]*$ ]]; then
        usage_error "soak MINUTES must be a positive whole number, got '${minutes}'"
      fi
      setup
      configure
      build interop_server stress_client
      run_soak "$minutes"
      ;;
    skew)
      local rev="${2:-}" skew_seconds="${3:-60}"
      if [[ -z "$rev" ]]; then
        rev=$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null) ||
          die "no release tag before HEAD (git tag); name a REV"
      fi
      git rev-parse --verify --quiet "${rev}^{commit}" >/dev/null ||
        usage_error "skew REV '${rev}' is not a git revision here"
      if [[ ! "$skew_seconds" =~ ^[1-9][0-9]*$ ]]; then
        usage_error "skew SECONDS must be a positive whole number, got '${skew_seconds}'"
      fi
      setup
      configure
      build interop_server interop_client stress_client
      run_skew "$rev" "$skew_seconds"
      ;;
    help | -h | --help)
      usage
      ;;
    *)
      usage_error "unknown command '${command}'"
      ;;
  esac
}

main "$@"
