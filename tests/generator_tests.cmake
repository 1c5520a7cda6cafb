# Tests of protoc-gen-sockrpc and sockrpc_generate(): generated code compiles
# and serves calls in process, the output for
# examples/increment/increment.proto matches the checked-in golden files,
# and what the generator cannot handle fails with a clear message. (Projects
# that build on sockrpc: packaging_tests.cmake.)

# The test services, generated as any user's are.
add_library(sockrpc_test_protos STATIC)
sockrpc_generate(TARGET sockrpc_test_protos
  PROTOS protos/sockrpc/test/v1/library.proto
         protos/sockrpc/test/common/paging.proto
         protos/no_package.proto
         protos/streaming.proto
         protos/sockrpc/test/fds/files.proto
  IMPORT_DIRS protos
  MOCKS)

sockrpc_test(NAME generated_service_test
  SOURCES generated_service_test.cc
  LIBS sockrpc_test_protos)
sockrpc_test(NAME generated_streaming_test
  SOURCES generated_streaming_test.cc
  LIBS sockrpc_test_protos)
sockrpc_test(NAME generated_mock_test
  SOURCES generated_mock_test.cc
  LIBS sockrpc_test_protos)
sockrpc_test(NAME generated_callback_service_test
  SOURCES generated_callback_service_test.cc
  LIBS sockrpc_test_protos)

# Golden files: the generated code of examples/increment/increment.proto,
# checked in.
# After an intended change to the generator, refresh them with
#   cmake --build <build dir> --target sockrpc_update_golden_files
# and review the diff like any other change.
set(_golden_dir ${CMAKE_CURRENT_SOURCE_DIR}/golden)
set(_increment_out $<TARGET_PROPERTY:increment_proto,BINARY_DIR>)
sockrpc_test(NAME generator_golden_test SOURCES generator_golden_test.cc)
add_dependencies(generator_golden_test increment_proto)
target_compile_definitions(generator_golden_test PRIVATE
  SOCKRPC_GOLDEN_DIR="${_golden_dir}"
  SOCKRPC_GENERATED_DIR="${_increment_out}")
set(_golden_files
  increment.sockrpc.pb.h
  increment_client.sockrpc.pb.h increment_client.sockrpc.pb.cc
  increment_server.sockrpc.pb.h increment_server.sockrpc.pb.cc)
set(_golden_copies "")
foreach(_file IN LISTS _golden_files)
  list(APPEND _golden_copies COMMAND ${CMAKE_COMMAND} -E copy
       ${_increment_out}/${_file} ${_golden_dir}/${_file}.golden)
endforeach()
add_custom_target(sockrpc_update_golden_files
  ${_golden_copies}
  COMMENT "Copying the generated code of increment.proto to tests/golden/"
  VERBATIM)
add_dependencies(sockrpc_update_golden_files increment_proto)

# Input the generator refuses: the error names the problem and the methods.
get_property(_protoc GLOBAL PROPERTY SOCKRPC_PROTOC_EXECUTABLE)
set(_refused_out ${CMAKE_CURRENT_BINARY_DIR}/generator_refused)
file(MAKE_DIRECTORY ${_refused_out})
add_test(NAME generator_refuses_async_name_taken_twice
  COMMAND ${_protoc} -I${CMAKE_CURRENT_SOURCE_DIR}/protos/refused
          --plugin=protoc-gen-sockrpc=$<TARGET_FILE:protoc-gen-sockrpc>
          --sockrpc_out=${_refused_out}
          async_clash.proto)
set_tests_properties(generator_refuses_async_name_taken_twice PROPERTIES
  PASS_REGULAR_EXPRESSION
  "async_clash\\.proto: method /refused\\.Clash/AsyncGet_ and the asynchronous form of method /refused\\.Clash/Get would have the same C\\+\\+ name AsyncGet_")
add_test(NAME generator_refuses_unknown_parameters
  COMMAND ${_protoc} -I${CMAKE_CURRENT_SOURCE_DIR}/protos
          --plugin=protoc-gen-sockrpc=$<TARGET_FILE:protoc-gen-sockrpc>
          --sockrpc_out=lite_runtime:${_refused_out}
          no_package.proto)
set_tests_properties(generator_refuses_unknown_parameters PROPERTIES
  PASS_REGULAR_EXPRESSION "unknown parameter \"lite_runtime\"")
