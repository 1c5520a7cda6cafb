# Tests of the health service (server/health_service.h) and of `sockrpc
# health`.
#
# health_service_test asks the health service of an in-process Server
# (HealthServiceTest; HealthRaceTest sets and watches from many threads).
# health_e2e_test runs the real sockrpc binary against the real
# health_server below, whose statuses the test flips with signals, and
# against increment_server.

# health_server: Increment and the health service, for the tests.
add_executable(health_server health/health_server.cc)
target_include_directories(health_server PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(health_server PRIVATE
  increment_server_proto sockrpc_server sockrpc_serve_until_signal
  sockrpc_example_program_flags absl::flags absl::time)

sockrpc_test(NAME health_service_test
  SOURCES health_service_test.cc
  LIBS sockrpc_server sockrpc_client increment_proto sockrpc_e2e_testing)

sockrpc_test(NAME health_e2e_test
  SOURCES health_e2e_test.cc
  LIBS sockrpc_cli_testing sockrpc_socket_testing sockrpc_client
       increment_proto)
add_dependencies(health_e2e_test sockrpc_cli health_server increment_server)
