#!/bin/bash
# skew.sh: the version-skew run behind `./build.sh skew [REV] [SECONDS]`.
#
#   tests/stress/skew.sh NEW_BIN_DIR REV SECONDS WORK_DIR
#
# Builds interop_server, interop_client and stress_client of git revision
# REV in a tree of its own under WORK_DIR (from `git archive`, so the
# checkout is untouched). A REV older than stress_client gets today's
# stress_client source compiled against its own client library: the client
# library is what differs between versions, not the load. Then, for each
# direction (REV's client against NEW_BIN_DIR's server, and the other way)
# and over a unix socket and TCP loopback:
#   - every interop case (interop_client --case all), and
#   - stress_client with 64 workers for SECONDS, every reply checked,
# each against a fresh server, which must then exit 0 on SIGTERM.
# Prints one line per run and exits 0 only if every case passed and no
# stress run saw an unexpected error, a wrong reply or a hang.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: skew.sh NEW_BIN_DIR REV SECONDS WORK_DIR" >&2
  exit 2
fi
new_bin=$(cd "$1" && pwd)
readonly new_bin rev=$2 seconds=$3 work=$4
readonly jobs=${JOBS:-$(nproc)}
commit=$(git rev-parse --short "${rev}^{commit}")
readonly commit
readonly src=$work/$commit-src build=$work/$commit-build
scratch=$(mktemp -d)
readonly scratch
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- REV's binaries ---------------------------------------------------------

echo "skew: building ${rev} (${commit}) in ${build}/"
rm -rf "$src"
mkdir -p "$src"
git archive "$commit" | tar -x -C "$src"
if [[ ! -f $src/tests/stress/stress_client.cc ]]; then
  echo "skew: ${rev} has no stress_client; building today's against its client library"
  mkdir -p "$src/tests/stress"
  cp tests/stress/stress_client.cc "$src/tests/stress/"
  cat >>"$src/tests/CMakeLists.txt" <<'EOF'

# Added by skew.sh: today's stress client against this version's library.
add_executable(stress_client stress/stress_client.cc)
target_include_directories(stress_client PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(stress_client PRIVATE
  interop_proto sockrpc_client sockrpc_transport
  absl::flags absl::flags_parse absl::time)
EOF
fi
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs" \
  --target interop_server interop_client stress_client >/dev/null
# The suite's programs moved from bin/ to tests/bin/ in 0.1; older
# revisions have them in bin/.
old_bin=$build/tests/bin
[[ -x $old_bin/interop_server ]] || old_bin=$build/bin
readonly old_bin

# --- The runs ---------------------------------------------------------------

failures=0

# start_server BIN_DIR TRANSPORT: starts BIN_DIR/interop_server; sets
# server_pid and address.
start_server() {
  local listen
  if [[ $2 == unix ]]; then
    listen="unix:$scratch/s"
    rm -f "$scratch/s"
  else
    listen="ipv4:127.0.0.1:0"
  fi
  "$1/interop_server" --listen "$listen" >"$scratch/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "server waiting" "$scratch/server.log" && break
    sleep 0.1
  done
  address=$(sed -n 's/^listening on //p' "$scratch/server.log" | head -1)
  [[ -n $address ]] || {
    echo "skew: interop_server of $1 did not start"
    cat "$scratch/server.log"
    exit 1
  }
}

# stop_server: SIGTERM; the server must exit 0 within 30 s.
stop_server() {
  kill -TERM "$server_pid"
  local status=0
  for _ in $(seq 300); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "      server did not exit 30 s after SIGTERM"
    failures=$((failures + 1))
    kill -9 "$server_pid"
  fi
  wait "$server_pid" || status=$?
  server_pid=
  if ((status != 0)); then
    echo "      server exited $status:"
    tail -5 "$scratch/server.log" | sed 's/^/        /'
    failures=$((failures + 1))
  fi
}

# run CLIENT_BIN SERVER_BIN LABEL TRANSPORT
run() {
  local client_bin=$1 server_bin=$2 label=$3 transport=$4 status
  start_server "$server_bin" "$transport"
  status=0
  "$client_bin/interop_client" --target "$address" --case all \
    >"$scratch/interop.txt" 2>&1 || status=$?
  echo "  ${label}, ${transport}: interop: $(tail -1 "$scratch/interop.txt")"
  if ((status != 0)); then
    grep "^FAIL" "$scratch/interop.txt" | sed 's/^/      /' || true
    failures=$((failures + 1))
  fi
  stop_server

  start_server "$server_bin" "$transport"
  status=0
  "$client_bin/stress_client" --target "$address" --workers 64 \
    --duration "${seconds}s" >"$scratch/stress.txt" 2>&1 || status=$?
  echo "  ${label}, ${transport}: stress ${seconds} s: $(head -1 "$scratch/stress.txt")"
  if ((status != 0)); then
    tail -n +2 "$scratch/stress.txt" | sed 's/^/      /'
    failures=$((failures + 1))
  fi
  stop_server
}

echo "skew: ${rev} (${commit}) against $(git rev-parse --short HEAD)"
for transport in unix tcp; do
  run "$old_bin" "$new_bin" "old client -> new server" "$transport"
  run "$new_bin" "$old_bin" "new client -> old server" "$transport"
done
if ((failures > 0)); then
  echo "skew: FAIL: ${failures} runs failed"
  exit 1
fi
echo "skew: PASS"
