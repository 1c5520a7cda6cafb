#!/usr/bin/env bash
# check_files_example.sh BIN_DIR: runs the descriptor example
# (examples/files) as the README shows it:
#   - files_client gets a sealed memfd from files_server and prints it, and
#     the server writes a line into the client's standard output (a file
#     here, so the test can read what the server wrote);
#   - over TCP the client fails with FAILED_PRECONDITION, saying why;
#   - SIGTERM stops the server with status 0.
# Every wait is bounded; exits 0 only if every check held.
set -euo pipefail
bin="$1"
dir="$(mktemp -d /tmp/files-check.XXXXXX)"
# shellcheck source=/dev/null
source "$(dirname "$0")/script_checks.sh"

address="unix:${dir}/files.sock"
"${bin}/files_server" --listen "$address" 2>"${dir}/server.log" &
server=$!
pids+=("$server")
wait_for_line "${dir}/server.log" "listening on ${address}"

timeout 10 "${bin}/files_client" --target "$address" --text "from the test" \
  >"${dir}/client.out" || fail "files_client exited $?"
grep -qx "memfd from the server (13 bytes): from the test" "${dir}/client.out" ||
  fail "the client did not print the memfd's text"
grep -qx "from the test (written by files_server, pid ${server})" \
  "${dir}/client.out" || fail "the server's line is not in the client's output"
grep -q "^the server wrote [0-9]* bytes into our standard output$" \
  "${dir}/client.out" || fail "the client did not report the write"
echo "ok: a memfd from the server, the client's stdout to the server"

"${bin}/files_server" --listen ipv4:127.0.0.1:0 2>"${dir}/tcp.log" &
pids+=("$!")
wait_for_line "${dir}/tcp.log" "listening on ipv4:127.0.0.1:"
tcp="$(sed -n 's/.*listening on \(ipv4:[0-9.:]*\).*/\1/p' "${dir}/tcp.log")"
if timeout 10 "${bin}/files_client" --target "$tcp" >"${dir}/tcp.out" \
  2>"${dir}/tcp_client.log"; then
  fail "files_client over TCP succeeded"
fi
grep -q "FAILED_PRECONDITION: reply not sent: the client (ipv4:.*) accepts no file descriptors (they pass only over unix sockets)" \
  "${dir}/tcp_client.log" || fail "over TCP the client did not say why"
echo "ok: over TCP the call fails FAILED_PRECONDITION and says why"

kill -TERM "$server"
status=0
wait "$server" || status=$?
((status == 0)) || fail "files_server exited ${status} on SIGTERM"
echo "ok: SIGTERM stops the server"
