# Tests of `sockrpc tap` and `sockrpc decode`: the decoding library on
# hand-built byte streams, the pcapng writer and reader, and the real
# binaries end to end (increment_server behind the tap). The tshark check
# is skipped when tshark is not installed.
sockrpc_test(NAME tap_decoder_test
  SOURCES tap_decoder_test.cc
  LIBS sockrpc_cli_inspect increment_proto sockrpc_transport)
sockrpc_test(NAME tap_pcapng_test
  SOURCES tap_pcapng_test.cc
  LIBS sockrpc_cli_inspect)
target_include_directories(tap_pcapng_test PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_definitions(tap_pcapng_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

sockrpc_test(NAME tap_e2e_test
  SOURCES tap_e2e_test.cc
  LIBS sockrpc_e2e_testing protobuf::libprotobuf)
target_compile_definitions(tap_e2e_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(tap_e2e_test sockrpc_cli increment_server increment_client)

# The Wireshark dissector (tools/wireshark/sockrpc.lua, loaded from the
# build tree's copy) on a capture of the interop suite made through the tap;
# skipped without tshark. The binaries are named by their targets.
sockrpc_test(NAME tap_wireshark_test
  SOURCES tap_wireshark_test.cc
  LIBS sockrpc_e2e_testing)
target_compile_definitions(tap_wireshark_test PRIVATE
  SOCKRPC_CLI="$<TARGET_FILE:sockrpc_cli>"
  SOCKRPC_INTEROP_SERVER="$<TARGET_FILE:interop_server>"
  SOCKRPC_INTEROP_CLIENT="$<TARGET_FILE:interop_client>"
  SOCKRPC_INTEROP_PROTO_DIR="${PROJECT_SOURCE_DIR}/tests/interop"
  SOCKRPC_WIRESHARK_LUA="${SOCKRPC_WIRESHARK_LUA}")
add_dependencies(tap_wireshark_test sockrpc_cli interop_server interop_client)
