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

# sockrpc_consumer_tests(NAME <route> SETUP <fixture> ARGS <cmake args...>
#                        [STEPS <target>...] [SOURCE <dir> CHECK <command>]):
# configure, build and check the consumer project one CMake way (or the
# project in SOURCE, checked by CHECK, given the build directory). Each STEP
# target (with what it needs) is built by a test of its own before the
# rest, so that no test runs long in silence (ctest shows a test's output
# only when it ends).
function(sockrpc_consumer_tests)
  cmake_parse_arguments(ARG "" "NAME;SETUP;SOURCE" "ARGS;STEPS;CHECK" ${ARGN})
  set(build ${CMAKE_CURRENT_BINARY_DIR}/consumer_${ARG_NAME})
  if(NOT ARG_SOURCE)
    set(ARG_SOURCE ${_consumer_dir})
    set(ARG_CHECK ${_check_consumer} ${build})
    list(APPEND ARG_ARGS -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})
  endif()
  add_test(NAME consumer_${ARG_NAME}_configures
    COMMAND ${CMAKE_COMMAND} -S ${ARG_SOURCE} -B ${build}
            -G ${CMAKE_GENERATOR}
            -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
            ${ARG_ARGS})
  set(previous consumer_${ARG_NAME}_configured)
  foreach(step IN LISTS ARG_STEPS)
    add_test(NAME consumer_${ARG_NAME}_builds_${step}
      COMMAND ${CMAKE_COMMAND} --build ${build} --parallel 2 --target ${step})
    set_tests_properties(consumer_${ARG_NAME}_builds_${step} PROPERTIES
      FIXTURES_REQUIRED ${previous}
      FIXTURES_SETUP consumer_${ARG_NAME}_built_${step}
      PROCESSORS 2
      TIMEOUT 900)
    set(previous consumer_${ARG_NAME}_built_${step})
  endforeach()
  add_test(NAME consumer_${ARG_NAME}_builds
    COMMAND ${CMAKE_COMMAND} --build ${build} --parallel 2)
  add_test(NAME consumer_${ARG_NAME}_works COMMAND ${ARG_CHECK})
  set_tests_properties(consumer_${ARG_NAME}_configures PROPERTIES
    FIXTURES_REQUIRED "${ARG_SETUP}"
    FIXTURES_SETUP consumer_${ARG_NAME}_configured
    TIMEOUT 120)
  set_tests_properties(consumer_${ARG_NAME}_builds PROPERTIES
    FIXTURES_REQUIRED "${previous}"
    FIXTURES_SETUP consumer_${ARG_NAME}_built
    PROCESSORS 2
    TIMEOUT 900)
  set_tests_properties(consumer_${ARG_NAME}_works PROPERTIES
    FIXTURES_REQUIRED consumer_${ARG_NAME}_built
    TIMEOUT 60)
endfunction()

# Building sockrpc itself takes over a minute here: one test per library.
sockrpc_consumer_tests(NAME subdirectory
  ARGS -DSOCKRPC_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  STEPS protoc-gen-sockrpc sockrpc_transport sockrpc_client sockrpc_server)

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

foreach(_step headers programs)
  set(_name consumer_pkg_config_works)
  if(_step STREQUAL headers)
    set(_name consumer_pkg_config_headers_compile)
  endif()
  add_test(NAME ${_name}
    COMMAND ${_consumer_dir}/build_with_pkg_config.sh ${_step} ${_prefix}
            ${CMAKE_CURRENT_BINARY_DIR}/consumer_pkg_config)
  set_tests_properties(${_name} PROPERTIES
    FIXTURES_REQUIRED sockrpc_installed
    ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER};CXXFLAGS=${CMAKE_CXX_FLAGS}"
    PROCESSORS 2
    TIMEOUT 300)
endforeach()

# The README's greeter (examples/greeter) as its reader builds it: the
# exact commands the README gives, against the installed package, with no
# build type (the project's default makes it Release), then run.
sockrpc_consumer_tests(NAME greeter_installed SETUP sockrpc_installed
  SOURCE ${PROJECT_SOURCE_DIR}/examples/greeter
  CHECK ${_consumer_dir}/check_greeter.sh
        ${CMAKE_CURRENT_BINARY_DIR}/consumer_greeter_installed
        $<TARGET_FILE:sockrpc_cli>
        ${CMAKE_CURRENT_BINARY_DIR}/consumer_greeter_installed
  ARGS -DCMAKE_PREFIX_PATH=${_prefix}
       "-DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
       "-DCMAKE_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}")
