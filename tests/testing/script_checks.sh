# script_checks.sh: what the shell checks of example programs share.
# Source it after setting `dir` (a temp dir of logs, removed on exit):
#   dir="$(mktemp -d /tmp/NAME.XXXXXX)"; source .../script_checks.sh
# It gives `pids` (add every background pid: killed on exit), `fail MSG`
# (prints MSG and every $dir/*.log and *.out, exits 1) and
# `wait_for_line FILE TEXT` (waits up to 10 s for TEXT in FILE).
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in "$dir"/*.log "$dir"/*.out; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; cat "$log" >&2; }
  done
  exit 1
}

wait_for_line() {
  local tries=0
  until grep -qF "$2" "$1" 2>/dev/null; do
    tries=$((tries + 1))
    ((tries < 200)) || fail "no \"$2\" in $1 within 10 s"
    sleep 0.05
  done
}
