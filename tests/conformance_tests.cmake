# `sockrpc conformance` end to end (tests/conformance/): the real tool
# against interop_server and increment_server, where every check that
# applies passes, and against misbehaving_server, a relay in front of
# interop_server that breaks one rule per check id, where that check fails;
# and `sockrpc conformance --client` judging interop_client (every client
# check passes) and misbehaving_client (each client check fails for the
# one rule the client breaks).

add_executable(misbehaving_server conformance/misbehaving_server.cc)
target_link_libraries(misbehaving_server PRIVATE
  sockrpc_conformance sockrpc_example_program_flags Threads::Threads)

add_executable(misbehaving_client conformance/misbehaving_client.cc)
target_link_libraries(misbehaving_client PRIVATE
  sockrpc_conformance sockrpc_example_program_flags)

sockrpc_test(NAME conformance_test
  SOURCES conformance/conformance_test.cc
  LIBS sockrpc_cli_testing sockrpc_conformance)
add_dependencies(conformance_test
  sockrpc_cli interop_server interop_client increment_server
  misbehaving_server misbehaving_client)
