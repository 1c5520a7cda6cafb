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
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
)

# The build directory, relative to the repository root.
readonly BUILD_DIR=build

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
          fails. This is what CI runs.
  demo    Build, then run the Increment demo (tools/demo.sh): one server,
          one client, then three clients at once.
  help    Show this help.

Reserved for later (they print "not yet available" for now):
  bench   Build and run the benchmarks.
  asan    Build and test with AddressSanitizer.
  tsan    Build and test with ThreadSanitizer.
  fuzz    Fuzz tests.

Environment:
  JOBS    Parallel build and test jobs (default 2).

Dependencies: on Debian 12 the script installs any missing package with
apt-get when run as root; otherwise it prints the apt-get command to run.
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

# setup: checks that every required package is installed, and installs the
# missing ones. Does nothing (and needs no network) when all are present.
setup() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found: not a Debian system, skipping the package check."
    log "Make sure the equivalents of these are installed: ${REQUIRED_PACKAGES[*]}"
    return 0
  fi

  local missing=() pkg status
  for pkg in "${REQUIRED_PACKAGES[@]}"; do
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

# build: compiles everything with $JOBS parallel jobs.
build() {
  log "Building with ${JOBS} jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

# run_tests: runs the whole ctest suite; a failing test fails the script.
run_tests() {
  log "Running tests"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
}

# run_demo: runs the Increment demo against the binaries just built.
run_demo() {
  log "Running the Increment demo"
  tools/demo.sh "${BUILD_DIR}/bin"
}

# --- Main -------------------------------------------------------------------

main() {
  # Everything below is relative to the repository root.
  cd "$(dirname "${BASH_SOURCE[0]}")"

  if (($# > 1)); then
    usage_error "expected at most one command, got $#: $*"
  fi
  local command="${1:-build}"

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
      build
      run_demo
      ;;
    bench | asan | tsan | fuzz)
      echo "build.sh: '${command}' is not yet available." >&2
      exit 2
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
