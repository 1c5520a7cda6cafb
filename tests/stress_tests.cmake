# Stress (issue "Reliability under attack"): stress_client, a mixed load
# against interop_server in which every reply is checked, with channel
# churn and hostile raw peers. stress_test runs it for a few seconds
# against the current build; ./build.sh soak runs it for minutes while
# watching the server's memory and descriptors (tests/stress/soak.sh);
# ./build.sh skew runs it across two versions (tests/stress/skew.sh).

add_executable(stress_client stress/stress_client.cc)
target_include_directories(stress_client PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(stress_client PRIVATE
  interop_proto sockrpc_client sockrpc_transport
  sockrpc_example_program_flags absl::time)

sockrpc_test(NAME stress_test
  SOURCES stress/stress_test.cc
  LIBS sockrpc_hardening_testing interop_proto sockrpc_client
       sockrpc_transport)
add_dependencies(stress_test stress_client interop_server)
sockrpc_blocking_server_tests(stress_test "*StressTest.*")
