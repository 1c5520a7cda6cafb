#!/usr/bin/env bash
# check_readme_files.sh README DIR FILE...: checks that for each FILE the
# README shows it whole: the fenced code block that follows the README
# line "`FILE`:" (or "`FILE`, ...:") is exactly DIR/FILE. Keeps the
# README's example the code CI builds and runs.
set -euo pipefail
readme="$1"
dir="$2"
shift 2
for file in "$@"; do
  shown="$(awk -v name="$file" '
    !found && index($0, "`" name "`") == 1 && $0 ~ /:$/ { found = 1; next }
    found == 1 && /^```/ { found = 2; next }
    found == 2 && /^```$/ { exit }
    found == 2 { print }
  ' "$readme")"
  if [[ -z "$shown" ]]; then
    echo "FAIL: ${readme} shows no \`${file}\` block" >&2
    exit 1
  fi
  if ! diff -u "${dir}/${file}" <(printf '%s\n' "$shown") >&2; then
    echo "FAIL: ${readme}'s \`${file}\` differs from ${dir}/${file} (above)" >&2
    exit 1
  fi
  echo "ok: ${readme} shows ${dir}/${file} as it is"
done
