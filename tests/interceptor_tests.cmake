# Interceptor tests: the demo binaries' interceptor flags (--log_calls,
# --require_token, --token, --verbose) and the metadata limit through the
# real increment_server, and the order interceptors run in, in process.

sockrpc_test(NAME e2e_interceptor_test
  SOURCES e2e_interceptor_test.cc
  LIBS sockrpc_e2e_testing increment_proto sockrpc_client sockrpc_server
       sockrpc_transport)
# The tests start these binaries: build them first.
add_dependencies(e2e_interceptor_test increment_server increment_client)
