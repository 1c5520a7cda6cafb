#!/usr/bin/env bash
# build_with_pkg_config.sh PREFIX OUT: builds the consumer's programs into OUT
# without CMake, against the sockrpc installed in PREFIX, as a Makefile would:
# protoc with the installed protoc-gen-sockrpc, then g++ with the flags of
# `pkg-config sockrpc-client`, `sockrpc-server` and `sockrpc`, after checking
# that every installed header compiles on its own. Then runs
# check_consumer.sh on them. $CXX (default g++) compiles, with $CXXFLAGS
# (which must hold a sanitizer's flags if the libraries were built with it).
set -euo pipefail
prefix="$(cd "$1" && pwd)"
out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name sockrpc.pc | head -n 1)")"
export LD_LIBRARY_PATH="${prefix}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"

# Every installed header compiles on its own: none includes a header that
# was not installed, or needs one included before it.
count=0
while IFS= read -r header; do
  # shellcheck disable=SC2046,SC2086  # the flags are words
  echo "#include <${header#"${prefix}/include/"}>" |
    "${CXX:-g++}" -std=c++17 ${CXXFLAGS:-} -fsyntax-only -x c++ - \
      $(pkg-config --cflags sockrpc) ||
    { echo "FAIL: ${header} does not compile on its own" >&2; exit 1; }
  count=$((count + 1))
done < <(find "${prefix}/include/sockrpc" -name '*.h' | sort)
echo "ok: each of the ${count} installed headers compiles on its own"

protoc -I"$here" --cpp_out="$out" \
  --plugin=protoc-gen-sockrpc="${prefix}/bin/protoc-gen-sockrpc" \
  --sockrpc_out="$out" "${here}/reverser.proto"

# build PROGRAM PACKAGE SOURCES...: compiles and links one program.
build() {
  local program="$1" package="$2"
  shift 2
  echo "${CXX:-g++} ... \$(pkg-config --cflags --libs ${package}) -> ${program}"
  # shellcheck disable=SC2046,SC2086  # the flags are words
  "${CXX:-g++}" -std=c++17 -O1 ${CXXFLAGS:-} -I"$out" -I"$here" "$@" \
    -o "${out}/${program}" $(pkg-config --cflags --libs "$package")
}
build reverser_client sockrpc-client "${here}/reverser_client.cc" \
  "${out}/reverser.pb.cc" "${out}/reverser_client.sockrpc.pb.cc"
build reverser_server sockrpc-server "${here}/reverser_server.cc" \
  "${out}/reverser.pb.cc" "${out}/reverser_server.sockrpc.pb.cc"
build reverser_check sockrpc "${here}/reverser_check.cc" \
  "${out}/reverser.pb.cc" "${out}/reverser_client.sockrpc.pb.cc" \
  "${out}/reverser_server.sockrpc.pb.cc"

"${here}/check_consumer.sh" "$out"
