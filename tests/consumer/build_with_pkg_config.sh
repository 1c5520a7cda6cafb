#!/usr/bin/env bash
# build_with_pkg_config.sh headers|programs PREFIX OUT: uses the sockrpc
# installed in PREFIX without CMake, as a Makefile would, with the flags of
# `pkg-config sockrpc-client`, `sockrpc-server` and `sockrpc`:
#   headers   checks that every installed header compiles on its own;
#   programs  builds the consumer's programs into OUT (protoc with the
#             installed protoc-gen-sockrpc, then the compiler) and runs
#             check_consumer.sh on them.
# Two steps, two ctest tests, so that neither runs long without a word.
# $CXX (default g++) compiles, with $CXXFLAGS (which must hold a
# sanitizer's flags if the libraries were built with it).
set -euo pipefail
mode="$1"
prefix="$(cd "$2" && pwd)"
out="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name sockrpc.pc | head -n 1)")"
export LD_LIBRARY_PATH="${prefix}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"

# check_header HEADER: compiles a file that includes only HEADER.
check_header() {
  # shellcheck disable=SC2046,SC2086  # the flags are words
  echo "#include <${1#"${prefix}/include/"}>" |
    "${CXX:-g++}" -std=c++17 ${CXXFLAGS:-} -fsyntax-only -x c++ - \
      $(pkg-config --cflags sockrpc) ||
    { echo "FAIL: $1 does not compile on its own" >&2; return 1; }
}

if [[ "$mode" == headers ]]; then
  # Every installed header compiles on its own: none includes a header
  # that was not installed, or needs one included before it. Two at a
  # time (the test reserves two processors).
  export -f check_header
  export prefix
  count=$(find "${prefix}/include/sockrpc" -name '*.h' | wc -l)
  ((count > 0)) || { echo "FAIL: no headers in ${prefix}/include/sockrpc" >&2; exit 1; }
  find "${prefix}/include/sockrpc" -name '*.h' | sort |
    xargs -P 2 -I{} bash -c 'check_header "$1"' _ {}
  echo "ok: each of the ${count} installed headers compiles on its own"
  exit 0
fi
[[ "$mode" == programs ]] || { echo "usage: $0 headers|programs PREFIX OUT" >&2; exit 2; }

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
