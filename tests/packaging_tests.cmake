# Tests of sockrpc as other projects get it: the consumer project
# (tests/consumer: reverser_check, reverser_server, reverser_client) is built
# three ways and checked by tests/consumer/check_consumer.sh, which runs the
# programs and proves that the client-only program holds and loads no server
# code and the server-only one no client code:
#   subdirectory  add_subdirectory() of this source tree (static libraries)
#   installed     cmake --install into a temporary prefix, then
#                 find_package(sockrpc) (shared libraries)
#   pkg_config    the same prefix, protoc and g++ with pkg-config's flags
# (The .deb itself: ./build.sh package-check, which installs it with apt.)

set(_consumer_dir ${CMAKE_CURRENT_SOURCE_DIR}/consumer)
set(_check_consumer ${_consumer_dir}/check_consumer.sh)

# sockrpc_consumer_tests(NAME <route> SETUP <fixture> ARGS <cmake args...>):
# configure, build and check the consumer project one CMake way.
function(sockrpc_consumer_tests)
  cmake_parse_arguments(ARG "" "NAME;SETUP" "ARGS" ${ARGN})
  set(build ${CMAKE_CURRENT_BINARY_DIR}/consumer_${ARG_NAME})
  add_test(NAME consumer_${ARG_NAME}_configures
    COMMAND ${CMAKE_COMMAND} -S ${_consumer_dir} -B ${build}
            -G ${CMAKE_GENERATOR}
            -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
            -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
            ${ARG_ARGS})
  # --verbose: the commands scroll by, so a long build is seen to progress.
  add_test(NAME consumer_${ARG_NAME}_builds
    COMMAND ${CMAKE_COMMAND} --build ${build} --parallel 2 --verbose)
  add_test(NAME consumer_${ARG_NAME}_works
    COMMAND ${_check_consumer} ${build})
  set_tests_properties(consumer_${ARG_NAME}_configures PROPERTIES
    FIXTURES_REQUIRED "${ARG_SETUP}"
    FIXTURES_SETUP consumer_${ARG_NAME}_configured
    TIMEOUT 120)
  set_tests_properties(consumer_${ARG_NAME}_builds PROPERTIES
    FIXTURES_REQUIRED consumer_${ARG_NAME}_configured
    FIXTURES_SETUP consumer_${ARG_NAME}_built
    PROCESSORS 2
    TIMEOUT 900)
  set_tests_properties(consumer_${ARG_NAME}_works PROPERTIES
    FIXTURES_REQUIRED consumer_${ARG_NAME}_built
    TIMEOUT 60)
endfunction()

sockrpc_consumer_tests(NAME subdirectory
  ARGS -DSOCKRPC_SOURCE_DIR=${PROJECT_SOURCE_DIR})

# The installed route: a fresh prefix for every run.
set(_prefix ${CMAKE_CURRENT_BINARY_DIR}/installed_prefix)
add_test(NAME install_into_prefix
  COMMAND sh -c "rm -rf '${_prefix}' && '${CMAKE_COMMAND}' --install '${PROJECT_BINARY_DIR}' --prefix '${_prefix}'")
set_tests_properties(install_into_prefix PROPERTIES
  FIXTURES_SETUP sockrpc_installed
  TIMEOUT 120)
# The installed libraries carry this build's compile flags (a sanitizer
# build's need its runtime), so the consumer is built with them too.
sockrpc_consumer_tests(NAME installed SETUP sockrpc_installed
  ARGS -DCMAKE_PREFIX_PATH=${_prefix}
       "-DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
       "-DCMAKE_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}")

add_test(NAME consumer_pkg_config_works
  COMMAND ${_consumer_dir}/build_with_pkg_config.sh ${_prefix}
          ${CMAKE_CURRENT_BINARY_DIR}/consumer_pkg_config)
set_tests_properties(consumer_pkg_config_works PROPERTIES
  FIXTURES_REQUIRED sockrpc_installed
  ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER};CXXFLAGS=${CMAKE_CXX_FLAGS}"
  TIMEOUT 300)
