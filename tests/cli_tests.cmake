# Tests of server reflection and of `sockrpc list | describe | call |
# bench`.
#
# reflection_service_test asks the reflection service of an in-process
# Server. cli_e2e_test runs the real sockrpc binary against real
# increment_server and interop_server processes, with the schema from
# reflection, from examples/increment/increment.proto parsed at run time,
# and from a protoset that protoc writes at build time (below).

sockrpc_test(NAME reflection_service_test
  SOURCES reflection_service_test.cc
  LIBS sockrpc_server sockrpc_client increment_proto sockrpc_test_protos
       sockrpc_e2e_testing)

# increment.protoset: examples/increment/increment.proto as a
# FileDescriptorSet, the way users make one for --protoset.
get_property(_cli_protoc GLOBAL PROPERTY SOCKRPC_PROTOC_EXECUTABLE)
set(_cli_protoset ${CMAKE_CURRENT_BINARY_DIR}/increment.protoset)
add_custom_command(
  OUTPUT ${_cli_protoset}
  COMMAND ${_cli_protoc} -I${PROJECT_SOURCE_DIR}/examples/increment
          --descriptor_set_out=${_cli_protoset} --include_imports
          ${PROJECT_SOURCE_DIR}/examples/increment/increment.proto
  DEPENDS ${PROJECT_SOURCE_DIR}/examples/increment/increment.proto
  COMMENT "protoc --descriptor_set_out increment.protoset"
  VERBATIM)
add_custom_target(cli_test_protoset DEPENDS ${_cli_protoset})

# cli_testing: running the sockrpc binary and starting servers, shared by
# the tool's end-to-end tests.
add_library(sockrpc_cli_testing STATIC cli_testing.cc)
target_link_libraries(sockrpc_cli_testing PUBLIC
  sockrpc_e2e_testing GTest::gtest)

sockrpc_test(NAME cli_e2e_test
  SOURCES cli_e2e_test.cc
  LIBS sockrpc_cli_testing)
target_compile_definitions(cli_e2e_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  SOCKRPC_TEST_PROTOSET="${_cli_protoset}")
add_dependencies(cli_e2e_test
  sockrpc_cli increment_server interop_server cli_test_protoset)

# sockrpc bench: its latency histogram, and the real binary end to end
# (the reports are parsed, and checked for counts, never for speed).
sockrpc_test(NAME cli_bench_histogram_test
  SOURCES cli_bench_histogram_test.cc
  LIBS sockrpc_cli_bench)
sockrpc_test(NAME cli_bench_test
  SOURCES cli_bench_test.cc
  LIBS sockrpc_cli_testing protobuf::libprotobuf)
target_compile_definitions(cli_bench_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(cli_bench_test sockrpc_cli increment_server interop_server)

# The interop_server tests of both, again against its blocking API.
sockrpc_blocking_server_tests(cli_e2e_test "CliInteropTest.*")
sockrpc_blocking_server_tests(cli_bench_test "BenchInteropTest.*")

# The tool as grpcurl users expect it: --proto and -I as protoc resolves
# them, --connect-timeout against a socket that never answers, flag
# spellings, --version and help.
sockrpc_test(NAME cli_grpcurl_test
  SOURCES cli_grpcurl_test.cc
  LIBS sockrpc_cli_testing sockrpc_transport)
target_compile_definitions(cli_grpcurl_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  SOCKRPC_VERSION="${PROJECT_VERSION}")
add_dependencies(cli_grpcurl_test sockrpc_cli increment_server interop_server)

# `sockrpc call` and `sockrpc tap` with file descriptors (SCM_RIGHTS),
# against the real files_server of examples/files.
sockrpc_test(NAME fd_cli_e2e_test
  SOURCES fd_cli_e2e_test.cc
  LIBS sockrpc_cli_testing)
add_dependencies(fd_cli_e2e_test sockrpc_cli files_server)
