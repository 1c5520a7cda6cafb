# Hardening tests (issue 5): who may call (allow lists, socket file mode
# and group, peer credentials), every server limit breached on purpose,
# faults with real processes (a server or client killed mid-call, a peer
# that stops reading, no file descriptors left, SIGTERM under load), a load
# test, and the fuzz targets' regression runs (fuzz/CMakeLists.txt).
#
# The tests drive the real increment_server and interop_server binaries;
# hardening_client is a client process that can run as another user and
# be killed mid-call.

add_library(sockrpc_hardening_testing STATIC hardening/hardening_testing.cc)
target_link_libraries(sockrpc_hardening_testing PUBLIC
  sockrpc_e2e_testing sockrpc_client increment_proto)
target_compile_definitions(sockrpc_hardening_testing PRIVATE
  SOCKRPC_BIN_DIR="$<TARGET_FILE_DIR:increment_server>"
  SOCKRPC_TEST_BIN_DIR="$<TARGET_FILE_DIR:interop_server>")

# run_in_new_netns: runs a command in a network namespace of its own.
add_executable(run_in_new_netns testing/run_in_new_netns.cc)

add_executable(hardening_client hardening/hardening_client.cc)
target_include_directories(hardening_client PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(hardening_client PRIVATE
  increment_proto interop_proto sockrpc_client sockrpc_example_program_flags)

set(_hardening_libs
  sockrpc_hardening_testing interop_service interop_proto increment_proto
  sockrpc_client sockrpc_server sockrpc_transport)
sockrpc_test(NAME hardening_access_test
  SOURCES hardening/access_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_count_limits_test
  SOURCES hardening/count_limits_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_time_and_size_limits_test
  SOURCES hardening/time_and_size_limits_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_keepalive_test
  SOURCES hardening/keepalive_test.cc LIBS ${_hardening_libs}
  sockrpc_socket_testing)
sockrpc_test(NAME hardening_backends_test
  SOURCES hardening/backends_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_tls_test
  SOURCES hardening/tls_test.cc
  LIBS ${_hardening_libs} sockrpc_test_pki sockrpc_increment_calls)
# Between hosts: network namespaces made by the test (hardening/netns_lab.h)
# and lab_client, the client that runs in one of them.
add_executable(lab_client hardening/lab_client.cc)
target_include_directories(lab_client PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(lab_client PRIVATE
  increment_proto sockrpc_client sockrpc_example_program_flags
  sockrpc_example_client_tls_flags)
add_library(sockrpc_netns_lab STATIC hardening/netns_lab.cc)
target_link_libraries(sockrpc_netns_lab PUBLIC sockrpc_e2e_testing)
sockrpc_test(NAME hardening_netns_test
  SOURCES hardening/netns_test.cc
  LIBS sockrpc_netns_lab sockrpc_test_pki ${_hardening_libs})
sockrpc_test(NAME hardening_fault_test
  SOURCES hardening/fault_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_load_test
  SOURCES hardening/load_test.cc LIBS ${_hardening_libs})
sockrpc_test(NAME hardening_attack_test
  SOURCES hardening/attack_test.cc LIBS ${_hardening_libs})
foreach(_test hardening_access_test hardening_count_limits_test
              hardening_time_and_size_limits_test hardening_fault_test
              hardening_keepalive_test hardening_backends_test
              hardening_tls_test hardening_netns_test
              hardening_load_test hardening_attack_test)
  add_dependencies(${_test}
    increment_server increment_client interop_server hardening_client
    run_in_new_netns lab_client sockrpc_cli)
endforeach()

sockrpc_blocking_server_tests(hardening_fault_test "FaultTest.*")
sockrpc_blocking_server_tests(hardening_attack_test "WedgeTest.*")
sockrpc_blocking_server_tests(hardening_time_and_size_limits_test
  "LimitsTest.ClientThatNeverReads*:LimitsTest.LargeRepliesOfCalls*:LimitsTest.ServerEndsEachCall*:LimitsTest.RequestMetadataOverTheLimit*")

add_subdirectory(fuzz)
