# Interop tests: interop_server serves the interop test service
# (interop/interop.proto) and interop_client runs named cases against it,
# each checking one behaviour end to end (streaming, deadlines,
# cancellation, statuses, metadata, limits, concurrency). interop_test
# starts the real binaries as child processes over a unix socket and over
# TCP; flow_control_test and call_race_test drive a Server and a Channel in
# one process.

add_library(interop_proto STATIC)
sockrpc_generate(TARGET interop_proto
  PROTOS interop/interop.proto
  IMPORT_DIRS interop)
target_include_directories(interop_proto PUBLIC ${PROJECT_SOURCE_DIR})

# The service as interop_server serves it; the in-process tests derive from
# it.
add_library(interop_service STATIC interop/interop_service.cc)
target_link_libraries(interop_service PUBLIC interop_proto sockrpc_server)

add_executable(interop_server interop/interop_server.cc)
target_link_libraries(interop_server PRIVATE
  interop_service absl::flags absl::flags_parse)

add_library(interop_cases STATIC
  interop/interop_cases.cc
  interop/interop_stream_cases.cc
  interop/interop_status_cases.cc
  interop/interop_unary_cases.cc)
target_link_libraries(interop_cases PUBLIC
  interop_proto sockrpc_client
  absl::status absl::statusor absl::strings absl::synchronization absl::time)

add_executable(interop_client interop/interop_client.cc)
target_link_libraries(interop_client PRIVATE
  interop_cases absl::flags absl::flags_parse)

# interop_test runs each case as its own GoogleTest test (so a failure is
# named), over one transport per ctest test.
add_executable(interop_test interop/interop_test.cc)
target_link_libraries(interop_test PRIVATE
  interop_cases sockrpc_e2e_testing GTest::gmock GTest::gtest_main)
target_compile_definitions(interop_test PRIVATE
  SOCKRPC_BIN_DIR="$<TARGET_FILE_DIR:increment_server>")
set_target_properties(interop_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${PROJECT_BINARY_DIR}/tests)
add_dependencies(interop_test interop_server interop_client)
add_test(NAME interop_unix
  COMMAND interop_test --gtest_filter=*InteropUnix*)
add_test(NAME interop_tcp
  COMMAND interop_test --gtest_filter=*InteropTcp*)
set_tests_properties(interop_unix interop_tcp PROPERTIES TIMEOUT 60)

# Flow control and cancel/deadline races, in one process over a unix socket.
# The server's callback (reactor) API over real sockets.
sockrpc_test(NAME callback_server_test
  SOURCES callback_server_test.cc
  LIBS sockrpc_test_protos sockrpc_server sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME flow_control_test
  SOURCES flow_control_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME call_race_test
  SOURCES call_race_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
