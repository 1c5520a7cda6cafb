# End-to-end tests: the real increment_server and increment_client binaries,
# started as child processes and spoken to over real sockets.

# sockrpc_e2e_testing: child processes, temp dirs and a raw protocol peer.
add_library(sockrpc_e2e_testing STATIC
  testing/child_process.cc
  testing/increment_server.cc
  testing/raw_connection.cc
  testing/server_process.cc)
target_include_directories(sockrpc_e2e_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(sockrpc_e2e_testing PUBLIC
  increment_proto sockrpc_transport
  absl::status absl::statusor absl::strings absl::synchronization absl::time)
target_compile_definitions(sockrpc_e2e_testing PRIVATE
  SOCKRPC_BIN_DIR="$<TARGET_FILE_DIR:increment_server>"
  SOCKRPC_TEST_BIN_DIR="$<TARGET_FILE_DIR:interop_server>")

# sockrpc_increment_calls: calling increment_server in process through a
# Channel, shared by the tests of calls and of the server's life.
add_library(sockrpc_increment_calls STATIC testing/increment_calls.cc)
target_link_libraries(sockrpc_increment_calls PUBLIC
  sockrpc_e2e_testing increment_proto sockrpc_client GTest::gtest
  absl::statusor absl::time)

sockrpc_test(NAME e2e_increment_test
  SOURCES e2e_increment_test.cc
  LIBS sockrpc_e2e_testing increment_proto sockrpc_client sockrpc_server
       sockrpc_transport sockrpc_increment_calls)
sockrpc_test(NAME e2e_server_lifecycle_test
  SOURCES e2e_server_lifecycle_test.cc
  LIBS sockrpc_e2e_testing increment_proto sockrpc_client sockrpc_server
       sockrpc_transport sockrpc_increment_calls)
sockrpc_test(NAME e2e_bad_input_test
  SOURCES e2e_bad_input_test.cc
  LIBS sockrpc_e2e_testing increment_proto sockrpc_client sockrpc_server
       sockrpc_transport)

# The tests start these binaries: build them first.
foreach(_e2e_test e2e_increment_test e2e_server_lifecycle_test
                  e2e_bad_input_test)
  add_dependencies(${_e2e_test} increment_server increment_client)
endforeach()

# The client's call batching, checked on the wire against a hand-played
# server (no server binary).
sockrpc_test(NAME client_batching_test
  SOURCES client_batching_test.cc
  LIBS sockrpc_e2e_testing sockrpc_increment_calls sockrpc_socket_testing
       increment_proto sockrpc_client sockrpc_transport)
sockrpc_test(NAME client_wire_test
  SOURCES client_wire_test.cc
  LIBS sockrpc_e2e_testing sockrpc_increment_calls sockrpc_socket_testing
       increment_proto sockrpc_client sockrpc_transport)

# Socket activation (systemd: addresses) and exit_when_idle, with
# systemd-socket-activate and socket_holder, a test-only stand-in for
# systemd that keeps the socket across server instances.
add_executable(socket_holder testing/socket_holder.cc)
target_include_directories(socket_holder PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(socket_holder PRIVATE
  sockrpc_example_program_flags absl::strings)
sockrpc_test(NAME e2e_systemd_test
  SOURCES e2e_systemd_test.cc
  LIBS sockrpc_e2e_testing sockrpc_transport)
target_compile_definitions(e2e_systemd_test PRIVATE
  SOCKRPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(e2e_systemd_test increment_server increment_client
                 socket_holder interop_server)
