# Interop tests: interop_server serves the interop test service
# (interop/interop.proto) and interop_client runs named cases against it,
# each checking one behaviour end to end (streaming, deadlines,
# cancellation, statuses, metadata, limits, concurrency). interop_test
# starts the real binaries as child processes over a unix socket and over
# TCP, against the server's callback API (the default) and its blocking API
# (--blocking); interop_callback_test checks the callback service's timers
# in one process; flow_control_test and call_race_test drive a Server and a
# Channel in one process.

add_library(interop_proto STATIC)
sockrpc_generate(TARGET interop_proto
  PROTOS interop/interop.proto
  IMPORT_DIRS interop)
target_include_directories(interop_proto PUBLIC ${PROJECT_SOURCE_DIR})

# The timers of the callback service's waits: one thread, a queue by time.
add_library(interop_timers STATIC interop/interop_timers.cc)
target_include_directories(interop_timers PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(interop_timers PUBLIC sockrpc_transport absl::time)

# The service as interop_server serves it, in both forms: InteropService
# (blocking; the in-process tests derive from it) and InteropCallbackService
# (reactors), sharing interop_service_helpers.
add_library(interop_service STATIC
  interop/interop_service.cc
  interop/interop_service_helpers.cc
  interop/interop_callback_service.cc)
target_link_libraries(interop_service PUBLIC
  interop_proto interop_timers sockrpc_server)

add_executable(interop_server interop/interop_server.cc)
target_link_libraries(interop_server PRIVATE
  interop_service sockrpc_example_server_interceptors
  sockrpc_serve_until_signal
  sockrpc_example_program_flags sockrpc_example_server_tls_flags)

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
  interop_cases sockrpc_example_program_flags sockrpc_example_client_tls_flags)

# interop_test runs each case as its own GoogleTest test (so a failure is
# named), over one transport per ctest test.
add_executable(interop_test interop/interop_test.cc)
target_link_libraries(interop_test PRIVATE
  interop_cases sockrpc_e2e_testing sockrpc_test_pki GTest::gmock
  GTest::gtest_main)
target_compile_definitions(interop_test PRIVATE
  SOCKRPC_BIN_DIR="$<TARGET_FILE_DIR:increment_server>"
  SOCKRPC_TEST_BIN_DIR="$<TARGET_FILE_DIR:interop_server>")
set_target_properties(interop_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${PROJECT_BINARY_DIR}/tests)
add_dependencies(interop_test interop_server interop_client)
# Each ctest test is one transport and one API: a suite and its All suite
# (interop_test.cc), against one interop_server.
add_test(NAME interop_unix
  COMMAND interop_test --gtest_filter=*/InteropUnix.*:InteropUnixAll.*)
add_test(NAME interop_tcp
  COMMAND interop_test --gtest_filter=*/InteropTcp.*:InteropTcpAll.*)
add_test(NAME interop_unix_blocking
  COMMAND interop_test
    --gtest_filter=*/InteropUnixBlocking.*:InteropUnixBlockingAll.*)
add_test(NAME interop_tcp_blocking
  COMMAND interop_test
    --gtest_filter=*/InteropTcpBlocking.*:InteropTcpBlockingAll.*)
add_test(NAME interop_tls
  COMMAND interop_test --gtest_filter=*/InteropTls.*:InteropTlsAll.*)
add_test(NAME interop_tls_blocking
  COMMAND interop_test
    --gtest_filter=*/InteropTlsBlocking.*:InteropTlsBlockingAll.*)
set_tests_properties(interop_unix interop_tcp
  interop_unix_blocking interop_tcp_blocking interop_tls interop_tls_blocking
  PROPERTIES TIMEOUT 60)

# The callback service's timers and reactors in one process: the timer
# queue alone, then cancels, deadlines and shutdown racing pending timers.
# Its ctest names start with interop_ (as build.sh's TSan selection
# expects of the interop tests).
add_executable(interop_callback_test
  interop/interop_timers_test.cc
  interop/interop_callback_service_test.cc)
target_link_libraries(interop_callback_test PRIVATE
  interop_service interop_timers sockrpc_client sockrpc_e2e_testing
  GTest::gmock GTest::gtest_main)
set_target_properties(interop_callback_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${PROJECT_BINARY_DIR}/tests)
gtest_discover_tests(interop_callback_test TEST_PREFIX interop_
  DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)

# Flow control and cancel/deadline races, in one process over a unix socket.
# The server's callback (reactor) API over real sockets.
sockrpc_test(NAME callback_server_test
  SOURCES callback_server_test.cc
  LIBS sockrpc_test_protos sockrpc_server sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME callback_server_race_test
  SOURCES callback_server_race_test.cc
  LIBS sockrpc_test_protos sockrpc_server sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME flow_control_test
  SOURCES flow_control_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME buffer_hint_test
  SOURCES buffer_hint_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
sockrpc_test(NAME call_race_test
  SOURCES call_race_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
# The server's solo connection (a lone busy client read through the
# leader's io_uring), with io_uring and without.
sockrpc_test(NAME solo_connection_test
  SOURCES solo_connection_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)

# A Channel across fork(): children reconnect or fail, parents unaffected.
sockrpc_test(NAME client_fork_test
  SOURCES client_fork_test.cc
  LIBS interop_service sockrpc_client sockrpc_e2e_testing)
add_dependencies(client_fork_test interop_server)
