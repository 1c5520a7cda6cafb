#!/usr/bin/env bash
# examples/increment/demo.sh: a scripted transcript of the Increment demo.
#
# Usage: examples/increment/demo.sh BIN_DIR
#
# BIN_DIR holds increment_server and increment_client (./build.sh puts them in
# build/bin/; `./build.sh demo` runs this script for you).
#
# The demo is the classic Unix-socket example, where a client sends one
# character and the server answers with the next one, except that our server
# serves many clients at once. The script:
#   1. starts increment_server on a Unix socket in a fresh temporary directory
#      and waits until it prints "server waiting";
#   2. runs one client (A -> B);
#   3. runs three clients at the same time (A -> B, b -> c, y -> z);
#   4. stops the server with SIGTERM and checks that it exits with status 0
#      and removes its socket file.
# Every command is shown with a "$ " prefix, followed by its output; the
# server's own log lines are shown prefixed with "[server] ".
#
# Exits 0 only if every client printed the right answer, the server exited
# cleanly and the socket file is gone; otherwise prints a FAIL line and exits
# non-zero. The temporary directory is always removed, and the server killed
# if it is still running.
set -euo pipefail

# How long to wait for the server to start and to stop, and how often to look.
readonly WAIT_MS=10000
readonly POLL_INTERVAL=0.05
# How long one client may take before it counts as hung, in seconds.
readonly CLIENT_TIMEOUT=10

if (($# != 1)); then
  echo "usage: $0 BIN_DIR" >&2
  exit 2
fi
readonly BIN="$1"
readonly SERVER="${BIN}/increment_server"
readonly CLIENT="${BIN}/increment_client"
for binary in "$SERVER" "$CLIENT"; do
  if [[ ! -x "$binary" ]]; then
    echo "FAIL: ${binary} is missing or not executable (build first: ./build.sh)" >&2
    exit 1
  fi
done

# --- Temporary directory and clean-up ----------------------------------------

# The directory lives directly under /tmp rather than $TMPDIR: a Unix socket
# path must fit in sun_path (108 bytes), and $TMPDIR can be long.
DIR="$(mktemp -d /tmp/sockrpc-demo.XXXXXX)"
readonly DIR
readonly SOCKET="${DIR}/server_socket"
readonly ADDRESS="unix:${SOCKET}"
# Output files go in a subdirectory, so that the final `ls` shows the
# socket's absence plainly.
readonly LOGS="${DIR}/logs"
readonly SERVER_LOG="${LOGS}/server.log"
mkdir "$LOGS"
SERVER_PID=""

# cleanup: runs on every exit. Kills the server if it is still running (TERM,
# then KILL if it ignores that) and removes the temporary directory.
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    sleep 0.5
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
# Turn Ctrl-C and kill into an ordinary exit, so that the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Helpers -----------------------------------------------------------------

FAILURES=0

# fail MESSAGE...: records a failed check; the demo goes on, and exits
# non-zero at the end.
fail() {
  echo "FAIL: $*"
  FAILURES=$((FAILURES + 1))
}

# fail_now MESSAGE...: reports a failure after which the demo cannot go on.
fail_now() {
  echo "FAIL: $*"
  exit 1
}

# show_command WORD...: prints a command as a transcript line.
show_command() {
  echo "\$ $*"
}

# SERVER_LINES_SHOWN counts the server log lines already printed.
SERVER_LINES_SHOWN=0

# show_server_log: prints the server log lines not shown yet.
show_server_log() {
  [[ -f "$SERVER_LOG" ]] || return 0
  local total
  total="$(wc -l <"$SERVER_LOG")"
  if ((total > SERVER_LINES_SHOWN)); then
    sed -n "$((SERVER_LINES_SHOWN + 1)),${total}s/^/[server] /p" "$SERVER_LOG"
    SERVER_LINES_SHOWN="$total"
  fi
}

# now_ms: prints the wall-clock time in milliseconds (bash 5's EPOCHREALTIME
# is seconds with a six-digit fraction; drop its separator, then the micros).
now_ms() {
  local micros="${EPOCHREALTIME/[.,]/}"
  echo $((micros / 1000))
}

# server_running: succeeds while the server process is alive.
server_running() {
  kill -0 "$SERVER_PID" 2>/dev/null
}

# check_client NAME EXPECTED STATUS OUTPUT_FILE: checks one client's run.
check_client() {
  local name="$1" expected="$2" status="$3" output="$4"
  if ((status == 124)); then
    fail "${name} did not finish within ${CLIENT_TIMEOUT} s"
  elif ((status != 0)); then
    fail "${name} exited with status ${status}"
  elif ! grep -qxF "char from server = ${expected}" "$output"; then
    fail "${name} did not print 'char from server = ${expected}'"
  fi
}

# --- 1. Start the server -----------------------------------------------------

echo "# Start the server on a Unix socket, in the background."
show_command "${SERVER} --listen ${ADDRESS} &"
"$SERVER" --listen "$ADDRESS" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

# Wait until the server says it is ready, or exits, or time runs out.
ready=false
deadline=$(($(now_ms) + WAIT_MS))
while (($(now_ms) < deadline)); do
  if grep -qF "server waiting" "$SERVER_LOG"; then
    ready=true
    break
  fi
  if ! server_running; then
    break
  fi
  sleep "$POLL_INTERVAL"
done
show_server_log
if ! $ready; then
  if server_running; then
    fail_now "the server did not print 'server waiting' within $((WAIT_MS / 1000)) s"
  fi
  status=0
  wait "$SERVER_PID" || status=$?
  SERVER_PID=""
  fail_now "the server exited with status ${status} before it was ready"
fi
echo

# --- 2. One client -----------------------------------------------------------

echo "# One client: send 'A', expect 'B'."
show_command "${CLIENT} --target ${ADDRESS} --char A"
status=0
timeout "$CLIENT_TIMEOUT" "$CLIENT" --target "$ADDRESS" --char A \
  >"${LOGS}/client_single.out" 2>&1 || status=$?
cat "${LOGS}/client_single.out"
show_server_log
check_client "the single client (A)" B "$status" "${LOGS}/client_single.out"
echo

# --- 3. Three clients at once ------------------------------------------------

# Each pair is "sent:expected".
readonly PAIRS=("A:B" "b:c" "y:z")

echo "# Three clients at the same time; the server answers each one."
pids=()
for pair in "${PAIRS[@]}"; do
  char="${pair%%:*}"
  show_command "${CLIENT} --target ${ADDRESS} --char ${char} &"
  timeout "$CLIENT_TIMEOUT" "$CLIENT" --target "$ADDRESS" --char "$char" \
    >"${LOGS}/client_${char}.out" 2>&1 &
  pids+=($!)
done
show_command "wait"

# Collect every status first, then print each client's output in order.
statuses=()
for pid in "${pids[@]}"; do
  status=0
  wait "$pid" || status=$?
  statuses+=("$status")
done
for i in "${!PAIRS[@]}"; do
  char="${PAIRS[$i]%%:*}"
  expected="${PAIRS[$i]##*:}"
  sed "s/^/(${char}) /" "${LOGS}/client_${char}.out"
  check_client "concurrent client ${char}" "$expected" "${statuses[$i]}" "${LOGS}/client_${char}.out"
done
show_server_log
echo

# --- 4. Stop the server ------------------------------------------------------

echo "# Stop the server; it should exit cleanly and remove its socket file."
show_command "kill -TERM ${SERVER_PID}"
kill -TERM "$SERVER_PID" 2>/dev/null || true
deadline=$(($(now_ms) + WAIT_MS))
while (($(now_ms) < deadline)); do
  server_running || break
  sleep "$POLL_INTERVAL"
done
if server_running; then
  show_server_log
  fail_now "the server was still running $((WAIT_MS / 1000)) s after SIGTERM"
fi
server_status=0
wait "$SERVER_PID" || server_status=$?
SERVER_PID=""
show_server_log
if ((server_status != 0)); then
  fail "the server exited with status ${server_status}, not 0"
fi

show_command "ls -la ${DIR}"
ls -la "$DIR"
if [[ -e "$SOCKET" || -L "$SOCKET" ]]; then
  fail "the socket file ${SOCKET} is still there"
else
  echo "socket file removed"
fi
echo

# --- Verdict -----------------------------------------------------------------

if ((FAILURES > 0)); then
  echo "FAIL: the Increment demo had ${FAILURES} failed check(s); see above."
  exit 1
fi
echo "PASS: every client got the right answer and the server shut down cleanly."
