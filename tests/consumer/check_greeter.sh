#!/usr/bin/env bash
# check_greeter.sh BIN_DIR [SOCKRPC [BUILD_DIR]]: runs the README's greeter
# (examples/greeter, built into BIN_DIR) as a new user would, and checks
# what it prints, failures included:
#   - greeter_server ADDRESS serves; greeter_client ADDRESS NAME prints
#     "Hello, NAME";
#   - a second server on the same address exits 1 and says why;
#   - a client of an address where nothing listens exits 1 and says why;
#   - with SOCKRPC (the sockrpc tool), a call through `sockrpc tap` shows
#     the greeter's frames;
#   - SIGTERM stops the server with status 0 and removes its socket file;
#   - with BUILD_DIR (a CMake build of examples/greeter configured with no
#     build type), it was built as Release.
# Every wait is bounded; exits 0 only if every check held.
set -euo pipefail
bin="$1"
sockrpc="${2:-}"
build="${3:-}"
dir="$(mktemp -d /tmp/greeter-check.XXXXXX)"
# shellcheck source=/dev/null
source "$(dirname "$0")/../testing/script_checks.sh"

if [[ -n "$build" ]]; then
  grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "${build}/CMakeCache.txt" ||
    fail "configured with no build type, the greeter is not a Release build"
  echo "ok: with no CMAKE_BUILD_TYPE the greeter builds as Release"
fi

address="unix:${dir}/greeter.sock"
"${bin}/greeter_server" "$address" 2>"${dir}/server.log" &
server=$!
pids+=("$server")
wait_for_line "${dir}/server.log" "listening on ${address}"

out="$(timeout 10 "${bin}/greeter_client" "$address" reader)" ||
  fail "greeter_client exited $?"
[[ "$out" == "Hello, reader" ]] || fail "greeter_client printed '${out}'"
echo "ok: greeter_client got 'Hello, reader'"

status=0
timeout 10 "${bin}/greeter_server" "$address" 2>"${dir}/second.log" ||
  status=$?
((status == 1)) || fail "a second server exited ${status}, not 1"
grep -q "^greeter_server: ALREADY_EXISTS: .*in use" "${dir}/second.log" ||
  fail "a second server did not say the address is in use"
echo "ok: a second server says: $(cat "${dir}/second.log")"

status=0
timeout 10 "${bin}/greeter_client" "unix:${dir}/nobody.sock" \
  2>"${dir}/nobody.log" || status=$?
((status == 1)) || fail "a client of a missing server exited ${status}"
grep -q "^greeter_client: UNAVAILABLE: " "${dir}/nobody.log" ||
  fail "a client of a missing server did not print the status"
echo "ok: a client of a missing server says: $(cat "${dir}/nobody.log")"

if [[ -n "$sockrpc" ]]; then
  tap="unix:${dir}/tap.sock"
  "$sockrpc" tap --listen "$tap" --upstream "$address" \
    >"${dir}/tap.log" 2>&1 &
  tap_pid=$!
  pids+=("$tap_pid")
  wait_for_line "${dir}/tap.log" "listening on ${tap}"
  out="$(timeout 10 "${bin}/greeter_client" "$tap" tap)" ||
    fail "greeter_client through the tap exited $?"
  [[ "$out" == "Hello, tap" ]] || fail "through the tap: '${out}'"
  wait_for_line "${dir}/tap.log" 'hello.HelloReply {"message":"Hello, tap"}'
  echo "ok: through sockrpc tap: $(grep -c 'hello.Greeter' "${dir}/tap.log") frames of /hello.Greeter/SayHello shown"
  kill -TERM "$tap_pid"
  wait "$tap_pid" || fail "sockrpc tap did not exit 0 on SIGTERM"
  pids=("$server")  # the tap is reaped: its pid may be reused
fi

kill -TERM "$server"
status=0
wait "$server" || status=$?
pids=()  # reaped: its pid may be reused
((status == 0)) || fail "greeter_server exited ${status} on SIGTERM"
[[ ! -e "${dir}/greeter.sock" ]] || fail "the socket file is still there"
echo "ok: SIGTERM stops greeter_server (status 0, socket file removed)"
