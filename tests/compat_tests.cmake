# Compatibility tests: two releases of one service (package compat, service
# Catalog) talking to each other through real binaries. v2 adds a request
# field, a reply field and a method to v1. An old client calls the new
# server and a new client the old server; docs/EXTENDING.md cites them.
#
# Both protos sit under compat/ as v1/catalog.proto and v2/catalog.proto, so
# their generated files do not collide: code includes
# "v1/catalog.sockrpc.pb.h" or "v2/catalog.sockrpc.pb.h". Every binary links
# exactly one of the two libraries, as two separately built programs would.
add_library(compat_v1_proto STATIC)
sockrpc_generate(TARGET compat_v1_proto
  PROTOS compat/v1/catalog.proto
  IMPORT_DIRS compat)
add_library(compat_v2_proto STATIC)
sockrpc_generate(TARGET compat_v2_proto
  PROTOS compat/v2/catalog.proto
  IMPORT_DIRS compat)

# The servers' shared main(): flags, signals, start-up and shutdown.
add_library(compat_serve STATIC compat/serve.cc)
target_link_libraries(compat_serve PUBLIC
  sockrpc_serve_until_signal sockrpc_example_program_flags)

add_executable(compat_server_v1 compat/compat_server_v1.cc)
target_link_libraries(compat_server_v1 PRIVATE compat_v1_proto compat_serve)
add_executable(compat_server_v2 compat/compat_server_v2.cc)
target_link_libraries(compat_server_v2 PRIVATE compat_v2_proto compat_serve)

# The tests start the other version's server as a child process
# (BinaryPath() in tests/testing/server_process.h finds it).
sockrpc_test(NAME compat_v1_client_test
  SOURCES compat/compat_v1_client_test.cc testing/child_process.cc
          testing/server_process.cc
  LIBS compat_v1_proto sockrpc_client)
add_dependencies(compat_v1_client_test compat_server_v2)
sockrpc_test(NAME compat_v2_client_test
  SOURCES compat/compat_v2_client_test.cc testing/child_process.cc
          testing/server_process.cc
  LIBS compat_v2_proto sockrpc_client)
add_dependencies(compat_v2_client_test compat_server_v1)
