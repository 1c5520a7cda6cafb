# Interceptor tests: the demo binaries' interceptor flags (--log_calls,
# --require_token, --token, --verbose) and the metadata limit through the
# real increment_server, and the order interceptors run in, in process.

sockrpc_test(NAME e2e_interceptor_test
  SOURCES e2e_interceptor_test.cc
  LIBS sockrpc_e2e_testing increment_proto sockrpc_client sockrpc_server
       sockrpc_transport)
# The tests start these binaries: build them first.
add_dependencies(e2e_interceptor_test increment_server increment_client)

# Interceptors that wrap calls (OnRequest, OnReply, OnStatus) against both
# server APIs in process, and interop_server --redact_errors (callback and
# blocking).
sockrpc_test(NAME interceptor_hooks_test
  SOURCES interceptor_hooks_test.cc
  LIBS interop_service sockrpc_e2e_testing sockrpc_client sockrpc_server)
add_dependencies(interceptor_hooks_test interop_server)
sockrpc_blocking_server_tests(interceptor_hooks_test "RedactErrorsTest.*")

# Client interceptors that wrap calls, through every client form (blocking,
# streams, futures, the callback API), against an in-process server.
sockrpc_test(NAME client_interceptor_hooks_test
  SOURCES client_interceptor_hooks_test.cc
  LIBS interop_service sockrpc_client sockrpc_server)
