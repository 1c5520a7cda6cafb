#!/usr/bin/env bash
# check_program_help.sh BINARY VERSION: checks what a user gets from
# `BINARY --help` and `BINARY --version`:
#   --help     exits 0 and prints on standard output a usage line
#              ("Usage: ..." naming the program), a description and an
#              "Options:" section listing --help and --version, and nothing
#              on standard error;
#   --version  exits 0 and prints "NAME VERSION" (NAME: the file's name).
set -euo pipefail
binary="$1"
version="$2"
name="$(basename "$binary")"
err="$(mktemp)"
trap 'rm -f "$err"' EXIT

fail() {
  echo "FAIL: ${name}: $*" >&2
  exit 1
}

status=0
help="$(timeout 10 "$binary" --help 2>"$err")" || status=$?
((status == 0)) || fail "--help exited ${status}; stderr: $(cat "$err")"
[[ ! -s "$err" ]] || fail "--help wrote to standard error: $(cat "$err")"
first="$(head -n 1 <<<"$help")"
[[ "$first" == "Usage: "*"${name}"* ]] ||
  fail "--help does not start with a usage line naming ${name}: ${first}"
(($(wc -l <<<"$help") >= 6)) || fail "--help says too little: ${help}"
grep -qx 'Options.*:' <<<"$help" || fail "--help has no Options: section"
grep -qE '^ +--help' <<<"$help" || fail "--help does not list --help"
grep -qE '^ +--version' <<<"$help" || fail "--help does not list --version"
echo "ok: ${name} --help: ${first}"

status=0
out="$(timeout 10 "$binary" --version 2>"$err")" || status=$?
((status == 0)) || fail "--version exited ${status}; stderr: $(cat "$err")"
[[ "$out" == "${name} ${version}" ]] ||
  fail "--version printed '${out}', not '${name} ${version}'"
echo "ok: ${name} --version: ${out}"
