#!/usr/bin/env bash
# check_consumer.sh BUILD_DIR: runs the consumer project's programs (built in
# BUILD_DIR) and checks that each side links only its own runtime:
#   - reverser_check serves and calls in one process (in-process channel);
#   - reverser_client holds no server code and loads no server library,
#     reverser_server holds no client code and loads no client library
#     (nm over the program and every sockrpc library ldd says it loads);
#   - reverser_server and reverser_client, two processes, talk.
set -euo pipefail
build="$1"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"${build}/reverser_check" | grep -qx 'reply: cprkcos' ||
  fail "reverser_check did not get the reversed text"
echo "ok: reverser_check called its own server through an in-process channel"

# defined_symbols PROGRAM: the demangled symbols PROGRAM and the sockrpc
# shared libraries it loads define.
defined_symbols() {
  local program="$1" lib
  nm -C --defined-only "$program"
  for lib in $(ldd "$program" | awk '/libsockrpc_/ { print $3 }'); do
    nm -C --defined-only -D "$lib"
  done
}

readonly server_code='sockrpc::(Server|ServerRuntime|ServerConnection)::'
readonly client_code='sockrpc::(Channel|ClientConnection)::'

dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
defined_symbols "${build}/reverser_client" > "${dir}/client_symbols"
defined_symbols "${build}/reverser_server" > "${dir}/server_symbols"

# Each check first proves the pattern finds the code where it must be, so
# that it cannot pass by matching nothing.
grep -Eq "$server_code" "${dir}/server_symbols" ||
  fail "no server code found in reverser_server: is the pattern stale?"
grep -Eq "$client_code" "${dir}/client_symbols" ||
  fail "no client code found in reverser_client: is the pattern stale?"
if grep -E "$server_code" "${dir}/client_symbols" | head -3 | grep .; then
  fail "reverser_client holds server code (above)"
fi
if grep -E "$client_code" "${dir}/server_symbols" | head -3 | grep .; then
  fail "reverser_server holds client code (above)"
fi
if ldd "${build}/reverser_client" | grep libsockrpc_server; then
  fail "reverser_client loads the server library"
fi
if ldd "${build}/reverser_server" | grep libsockrpc_client; then
  fail "reverser_server loads the client library"
fi
echo "ok: the client holds no server code, the server no client code"
ldd "${build}/reverser_client" | grep libsockrpc_ || echo "(linked statically)"

address="unix:${dir}/reverser.sock"
exec 3< <(exec "${build}/reverser_server" "$address")
server_pid=$!
read -r -t 30 -u 3 line || fail "reverser_server did not start"
[[ "$line" == listening ]] || fail "reverser_server said: $line"
reply="$("${build}/reverser_client" "$address" "hello")"
[[ "$reply" == olleh ]] || fail "reverser_client printed: $reply"
kill -TERM "$server_pid"
wait "$server_pid" || fail "reverser_server exited with $?"
server_pid=""
echo "ok: reverser_client called reverser_server: hello -> $reply"
