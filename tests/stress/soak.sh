#!/bin/bash
# soak.sh: the soak test behind `./build.sh soak [MINUTES]`.
#
#   tests/stress/soak.sh BIN_DIR MINUTES OUT_DIR
#
# Starts BIN_DIR/interop_server and runs BIN_DIR/stress_client against it
# for MINUTES (32 workers with channel churn, 4 hostile peers, cancels and
# deadlines among the calls), sampling the server's resident memory, open
# descriptors and threads once a second into OUT_DIR/soak.csv. Fails when:
#   - the stress client reports an unexpected error, a wrong reply or a
#     hang;
#   - memory grows once warm: the peak of the second half of the run
#     exceeds the peak of the first half by more than SOAK_RSS_GROWTH_KB
#     (default 8192; a leak of 100 bytes a call is about 30 MB a minute
#     here);
#   - descriptors or threads are left over: within 10 s of the load's end
#     the server must hold the descriptors it held before it, and at most
#     4 threads more than before.
# SOAK_SERVER_FLAGS adds flags to interop_server (e.g. --blocking).
# Prints the samples' summary and "soak: PASS" or "soak: FAIL: why".
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: soak.sh BIN_DIR MINUTES OUT_DIR" >&2
  exit 2
fi
readonly bin=$1 minutes=$2 out=$3
readonly growth_limit_kb=${SOAK_RSS_GROWTH_KB:-8192}
mkdir -p "$out"
readonly csv=$out/soak.csv server_log=$out/soak-server.log
readonly client_out=$out/soak-client.txt

work=$(mktemp -d)
server_pid=
client_pid=
cleanup() {
  [[ -n $client_pid ]] && kill "$client_pid" 2>/dev/null || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# One sample of process $1: "rss_kb fds threads".
sample() {
  local rss threads fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$1/status")
  fds=$(ls "/proc/$1/fd" | wc -l)
  echo "$rss $fds $threads"
}

fail() {
  echo "soak: FAIL: $*"
  exit 1
}

# shellcheck disable=SC2086  # the flags are words
"$bin/interop_server" --listen "unix:$work/s" ${SOAK_SERVER_FLAGS:-} \
  >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -q "server waiting" "$server_log" && break
  kill -0 "$server_pid" 2>/dev/null || fail "interop_server exited at start"
  sleep 0.1
done
grep -q "server waiting" "$server_log" || fail "interop_server did not start"
read -r base_rss base_fds base_threads < <(sample "$server_pid")

"$bin/stress_client" --target "unix:$work/s" --workers 32 --churn \
  --hostile 4 --duration "${minutes}m" >"$client_out" 2>&1 &
client_pid=$!

echo "second,rss_kb,fds,threads" >"$csv"
second=0
while kill -0 "$client_pid" 2>/dev/null; do
  read -r rss fds threads < <(sample "$server_pid")
  echo "$second,$rss,$fds,$threads" >>"$csv"
  sleep 1
  second=$((second + 1))
done
client_rc=0
wait "$client_pid" || client_rc=$?
client_pid=

# The load is over: what it opened must go.
end_fds=-1
for _ in $(seq 100); do
  read -r end_rss end_fds end_threads < <(sample "$server_pid")
  [[ $end_fds -eq $base_fds ]] && break
  sleep 0.1
done

samples=$(($(wc -l <"$csv") - 1))
half=$((samples / 2))
peak_first=$(tail -n +2 "$csv" | head -n "$half" | cut -d, -f2 | sort -n | tail -1)
peak_second=$(tail -n +2 "$csv" | tail -n +$((half + 1)) | cut -d, -f2 | sort -n | tail -1)
peak_fds=$(tail -n +2 "$csv" | cut -d, -f3 | sort -n | tail -1)
peak_threads=$(tail -n +2 "$csv" | cut -d, -f4 | sort -n | tail -1)

echo "soak: $minutes min, interop_server ${SOAK_SERVER_FLAGS:-(callback API)}," \
  "$samples samples (one a second) in $csv"
echo "soak: client: $(head -1 "$client_out")"
echo "soak: server RSS: ${base_rss} kB idle, peak ${peak_first} kB in the" \
  "first half, ${peak_second} kB in the second, ${end_rss} kB after"
echo "soak: server fds: ${base_fds} idle, peak ${peak_fds}, ${end_fds} after;" \
  "threads: ${base_threads} idle, peak ${peak_threads}, ${end_threads} after"
echo "soak: server log: $(wc -l <"$server_log") lines in $server_log"

[[ $client_rc -eq 0 ]] || fail "the stress client failed (exit $client_rc):
$(cat "$client_out")"
((samples >= 4)) || fail "too few samples ($samples)"
((peak_second - peak_first <= growth_limit_kb)) ||
  fail "memory grew by $((peak_second - peak_first)) kB once warm" \
    "(limit ${growth_limit_kb} kB)"
((end_fds == base_fds)) || fail "$((end_fds - base_fds)) descriptors left over"
((end_threads <= base_threads + 4)) ||
  fail "$((end_threads - base_threads)) threads left over"
echo "soak: PASS"
